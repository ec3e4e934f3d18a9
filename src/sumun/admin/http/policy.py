"""The policy over the admin API: view, validate, reload, explain."""

from __future__ import annotations

from typing import Any

from sumun.admin.http.operation import Operation

__all__ = ["OPERATIONS"]

OPERATIONS: tuple[Operation[Any, Any], ...] = ()
