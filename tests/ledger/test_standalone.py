"""Architecture rule: the offline verifier stands alone.

`merkle`, `note`, `tiles` and `verifier` import only the standard library, `cryptography` and
each other — so a third party can verify an export with nothing of Sumun's state or services.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

LEDGER = Path(__file__).resolve().parents[2] / "src" / "sumun" / "ledger"
STANDALONE = ("merkle", "note", "tiles", "verifier")
ALLOWED_SUMUN = {f"sumun.ledger.{name}" for name in STANDALONE}


def _imports(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


@pytest.mark.parametrize("name", STANDALONE)
def test_imports_only_stdlib_cryptography_and_each_other(name: str) -> None:
    offenders = []
    for module, level in _imports(LEDGER / f"{name}.py"):
        top = module.split(".")[0]
        if level:
            ok = module in STANDALONE
        elif top == "sumun":
            ok = module in ALLOWED_SUMUN
        else:
            ok = top in sys.stdlib_module_names or top == "cryptography"
        if not ok:
            offenders.append(f"{name}.py imports {'.' * level}{module}")
    assert not offenders, "\n".join(offenders)


def test_importing_the_verifier_loads_nothing_else_of_sumun() -> None:
    code = (
        "import sys, sumun.ledger.verifier; "
        "print(sorted(m for m in sys.modules if m.startswith('sumun')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(sorted({"sumun", "sumun.ledger", *ALLOWED_SUMUN}))
