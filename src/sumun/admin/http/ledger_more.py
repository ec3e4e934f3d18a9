"""More of the ledger over the admin API: consistency proofs, the checkpoint history, and a payload
read with a stated reason (recorded)."""

from __future__ import annotations

from typing import Any

from sumun.admin.http.operation import Operation

__all__ = ["OPERATIONS"]

OPERATIONS: tuple[Operation[Any, Any], ...] = ()
