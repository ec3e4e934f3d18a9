"""Supply-chain scans over the admin API: recorded scans, findings, the AI-BOM as CycloneDX and
SARIF."""

from __future__ import annotations

from typing import Any

from sumun.admin.http.operation import Operation

__all__ = ["OPERATIONS"]

OPERATIONS: tuple[Operation[Any, Any], ...] = ()
