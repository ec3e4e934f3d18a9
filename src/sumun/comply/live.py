"""The compliance report of one deployment, built the same way wherever it is asked for.

`sumun comply report` (the CLI) and `GET /admin/v1/compliance/report` (the admin API) both
call `assess_deployment`: read the state once (`gather`), assess every requirement of the
catalog (`assess`), and make the report (`build_report`). Only where the key status comes from
differs — the caller says, in `key_origin`, and that text is part of the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sumun.comply.assess import assess
from sumun.comply.catalog import load_catalog
from sumun.comply.gather import gather
from sumun.comply.report import Report, build_report
from sumun.config import Settings

__all__ = ["assess_deployment", "key_origin"]


def key_origin(status: Mapping[str, Any], where: str) -> str:
    """Where the key status was read, and whether the key registry's integrity was checked."""
    if status.get("sealed"):
        return where + ", sealed: key registry read without its integrity check"
    if status.get("verified"):
        return where + ", unsealed: key registry verified"
    return where


def assess_deployment(
    settings: Settings,
    *,
    key_status: Mapping[str, Any],
    key_origin: str,
    scan_file: Path | None = None,
    catalog_dir: Path | None = None,
) -> Report:
    """The report for `settings`' deployment as it is now (blocking: it verifies the ledger)."""
    catalog = load_catalog(catalog_dir)
    facts = gather(settings, key_status=key_status, key_origin=key_origin, scan_file=scan_file)
    return build_report(catalog, facts, assess(catalog, facts))
