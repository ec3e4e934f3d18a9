"""Architecture rules as tests (STYLE.md §12): dependency direction, isolated backends.

`cli → server → admin, gateway → ledger → keys → crypto`, never the other way; key backends stand
alone (no backend imports another); no module-level mutable state in the key layer.
"""

from __future__ import annotations

import ast
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
