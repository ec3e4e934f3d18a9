"""Compliance over the admin API: the report, attestations, the AI register, oversight reviews."""

from __future__ import annotations

from typing import Any

from sumun.admin.http.operation import Operation

__all__ = ["OPERATIONS"]

OPERATIONS: tuple[Operation[Any, Any], ...] = ()
