"""The key layer over the admin API: status, KEK versions, rotate, disable/enable, destroy with
grace, unseal with shares (never stored)."""

from __future__ import annotations

from typing import Any

from sumun.admin.http.operation import Operation

__all__ = ["OPERATIONS"]

OPERATIONS: tuple[Operation[Any, Any], ...] = ()
