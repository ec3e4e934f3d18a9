"""Architecture rules as tests (STYLE.md §12): dependency direction, isolated backends.

`cli → server → admin, gateway → ledger → keys → crypto`, never the other way; key backends stand
alone (no backend imports another); no module-level mutable state in the key layer.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "sumun"

# package -> packages it must never import
FORBIDDEN = {
    "crypto": ("sumun.keys", "sumun.gateway", "sumun.cli", "sumun.admin", "sumun.xks"),
    "keys": ("sumun.gateway", "sumun.cli", "sumun.admin", "sumun.xks"),
    "admin": ("sumun.cli", "sumun.server"),
    "gateway": ("sumun.cli", "sumun.admin", "sumun.server", "sumun.xks"),
    "ledger": ("sumun.gateway", "sumun.cli", "sumun.admin", "sumun.server", "sumun.xks"),
    "store": (
        "sumun.gateway",
        "sumun.cli",
        "sumun.admin",
        "sumun.server",
        "sumun.ledger",
        "sumun.xks",
    ),
    # the XKS proxy sits beside the gateway: only server, cli and admin import it.
    "xks": (
        "sumun.gateway",
        "sumun.cli",
        "sumun.admin",
        "sumun.server",
        "sumun.comply",
        "sumun.scan",
    ),
    # `sumun doctor` reads the stores, the key backends and the config; only the CLI runs it.
    "doctor": (
        "sumun.cli",
        "sumun.admin",
        "sumun.server",
        "sumun.gateway",
        "sumun.xks",
        "sumun.comply",
        "sumun.scan",
    ),
    # comply and scan read the others; only the CLI and the admin API/console import them.
    "comply": ("sumun.cli", "sumun.admin", "sumun.server"),
    "scan": (
        "sumun.cli",
        "sumun.admin",
        "sumun.server",
        "sumun.gateway",
        "sumun.keys",
        "sumun.ledger",
        "sumun.comply",
    ),
    # policy is pure: typed data in, decisions out — nothing of Sumun's I/O layers.
    "policy": (
        "sumun.gateway",
        "sumun.ledger",
        "sumun.keys",
        "sumun.store",
        "sumun.cli",
        "sumun.admin",
        "sumun.server",
        "sumun.runtime",
        "sumun._fs",
        "sumun.scan",
        "sumun.comply",
        "sumun.xks",
    ),
}


def test_nothing_but_the_cli_imports_comply_or_scan() -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).parts[0] not in ("cli", "admin", "comply", "scan")
        for name in _imports(path)
        if name.startswith(("sumun.comply", "sumun.scan"))
    ]
    assert not offenders, "\n".join(offenders)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependency_direction(package: str) -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in _modules(package)
        for name in _imports(path)
        if name.startswith(FORBIDDEN[package])
    ]
    assert not offenders, "\n".join(offenders)


def test_key_backends_do_not_import_each_other() -> None:
    backends = {p.stem for p in (SRC / "keys" / "backends").glob("*.py")} - {"__init__", "base"}
    offenders = []
    for name in backends:
        path = SRC / "keys" / "backends" / f"{name}.py"
        for imported in _imports(path):
            for other in backends - {name}:
                if imported.startswith(f"sumun.keys.backends.{other}"):
                    offenders.append(f"{name} imports {imported}")
    assert not offenders


def test_no_module_level_mutable_state_in_the_key_layer() -> None:
    offenders = []
    for path in _modules("keys") + _modules("crypto"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Global):
                offenders.append(f"{path.name}: global statement")
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                offenders.append(f"{path.name}:{node.lineno}: `global` rebinding")
    assert not offenders


def test_hazmat_is_only_used_by_the_key_layer_and_crypto() -> None:
    offenders = [
        f"{path.relative_to(SRC)}"
        for package in ("gateway", "admin")
        for path in _modules(package)
        if any(
            n.startswith("sumun.crypto.hazmat") and not n.endswith(".Suite") for n in _imports(path)
        )
        and "Suite" not in path.read_text(encoding="utf-8")
    ]
    assert not offenders


_IO_MODULES = (
    "socket",
    "sqlite3",
    "httpx",
    "aiohttp",
    "requests",
    "psycopg",
    "redis",
    "subprocess",
    "urllib",
    "shutil",
    "tempfile",
    "asyncio",
)


def test_policy_does_no_io() -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in _modules("policy")
        for name in _imports(path)
        if name.split(".")[0] in _IO_MODULES
    ]
    assert not offenders, "\n".join(offenders)


# -- the allow-list: what each part of src/sumun may import --------------------------------------
#
# Every package and every top-level module is a "unit"; a unit may import only the units listed
# for it. A new unit, or a new edge, is a decision: add it here (and to docs/architecture.md)
# rather than letting the layering drift. The direction of ARCHITECTURE: cli → server → admin,
# gateway → ledger → keys → crypto; store and policy below the key layer; errors and config at
# the bottom.
_BASE = frozenset({"errors", "config"})
ALLOWED: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "_fs": frozenset({"errors"}),
    "_pg": frozenset({"errors"}),
    # config imports the crypto suites' names and the policy's types; config_errors (each
    # sumun.yaml problem at its line) is imported lazily by config.load.
    "config": frozenset({"errors", "crypto", "policy", "config_errors"}),
    "config_errors": _BASE,
    "crypto": frozenset({"errors"}),
    "policy": _BASE,
    "scan": frozenset({"errors"}),
    "store": _BASE | {"_fs", "_pg", "policy"},
    "keys": _BASE | {"_fs", "crypto", "store"},
    "ledger": _BASE | {"_fs", "_pg", "crypto", "keys", "store"},
    "runtime": _BASE | {"_fs", "keys", "ledger", "store"},
    "doctor": _BASE | {"_pg", "keys", "store"},
    "xks": _BASE | {"crypto", "keys", "ledger", "policy", "runtime", "store"},
    "gateway": _BASE | {"config_errors", "keys", "ledger", "policy", "runtime", "store"},
    "logs": _BASE,
    "telemetry": _BASE | {"gateway"},
    "comply": _BASE | {"_fs", "gateway", "keys", "ledger", "policy", "runtime", "scan", "store"},
    "admin": _BASE
    | {"_fs", "comply", "crypto", "gateway", "keys", "ledger", "policy", "runtime", "scan"}
    | {"store", "xks"},
    "server": _BASE
    | {"admin", "gateway", "ledger", "logs", "policy", "runtime", "telemetry", "xks"},
    "cli": _BASE
    | {"_fs", "admin", "comply", "crypto", "doctor", "gateway", "keys", "ledger", "logs"}
    | {"policy", "runtime", "scan", "server", "store", "xks"},
}


def _unit(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0].removesuffix(".py")


def _units() -> set[str]:
    return {_unit(p) for p in SRC.rglob("*.py") if p.name != "__init__.py" or len(p.parts) > 1}


def test_every_package_and_top_level_module_is_on_the_allow_list() -> None:
    listed = set(ALLOWED)
    found = _units() - {"__init__"}
    assert found - listed == set(), "new units: add them to ALLOWED (and docs/architecture.md)"
    assert listed - found == set(), "ALLOWED names units that no longer exist"


@pytest.mark.parametrize("unit", sorted(ALLOWED))
def test_each_unit_imports_only_what_it_is_allowed(unit: str) -> None:
    paths = _modules(unit) if (SRC / unit).is_dir() else [SRC / f"{unit}.py"]
    offenders = sorted(
        f"{path.relative_to(SRC)} imports {name}"
        for path in paths
        for name in _imports(path)
        if name.startswith("sumun.")
        and (target := name.split(".")[1]) != unit
        and target in ALLOWED  # `sumun.X.Y` where X is a unit (not a name imported from one)
        and target not in ALLOWED[unit]
    )
    assert not offenders, "\n".join(offenders)


def test_no_relative_imports() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{node.lineno}"
        for path in sorted(SRC.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert not offenders, "import from sumun.… explicitly:\n" + "\n".join(offenders)


_MUTABLE_CALLS = frozenset(
    {"dict", "list", "set", "defaultdict", "deque", "OrderedDict", "Counter"}
)
_CONSTANT = re.compile(r"_?[A-Z][A-Z0-9_]*")


def _mutable(value: ast.expr) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in _MUTABLE_CALLS
    return False


def test_no_module_level_mutable_state_anywhere() -> None:
    """State lives in objects that are built and passed, never in a module: no `global`, and a
    module-level list, dict or set is a constant (UPPER_CASE) or `__all__`."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(SRC)
        offenders += [
            f"{where}:{node.lineno}: `global`"
            for node in ast.walk(tree)
            if isinstance(node, ast.Global)
        ]
        for node in tree.body:
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            if not _mutable(value):
                continue
            offenders += [
                f"{where}:{node.lineno}: {target.id}"
                for target in targets
                if isinstance(target, ast.Name)
                and target.id != "__all__"
                and not _CONSTANT.fullmatch(target.id)
            ]
    assert not offenders, "module-level mutable state:\n" + "\n".join(offenders)
