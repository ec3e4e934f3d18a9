"""A baseline tool in its own venv under bench/ (never a Sumun dependency), made on first use."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["ensure_venv"]


def ensure_venv(venv: Path, requirements: list[str], ready: Callable[[], bool]) -> bool:
    """Install `requirements` (pinned) into `venv` unless `ready()` already says it is there.

    Returns `ready()` afterwards; an install failure is printed, not raised, so a benchmark can
    still report its own figures.
    """
    if ready():
        return True
    try:
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", *requirements], check=True, timeout=900
        )
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"{' '.join(requirements)} could not be installed: {exc}", file=sys.stderr)
        return False
    return ready()
