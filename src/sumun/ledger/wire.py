"""JSON shapes of ledger objects for the CLI and the admin channel (one place, both sides)."""

from __future__ import annotations

import base64
import time
from typing import Any

from sumun.errors import UsageError
from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.ledger.service import TailRow
from sumun.ledger.store.base import StoredCheckpoint

__all__ = ["checkpoint_json", "parse_append", "tail_json"]


def checkpoint_json(checkpoint: StoredCheckpoint) -> dict[str, Any]:
    return {
        "size": checkpoint.size,
        "root": base64.b64encode(checkpoint.root).decode(),
        "note": checkpoint.note,
        "time_ms": checkpoint.time_ms,
    }


def tail_json(row: TailRow) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": row.seq, "entry": row.entry, "payload_state": row.payload_state}
    if row.payload is not None:
        try:
            out["payload"] = row.payload.decode("utf-8")
        except UnicodeDecodeError:
            out["payload_b64"] = base64.b64encode(row.payload).decode()
    return out


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise UsageError(f"{name} is required")
        return None
    if not isinstance(value, str) or not value:
        raise UsageError(f"{name} must be a non-empty string")
    return value


def parse_append(body: dict[str, Any], actor: str) -> tuple[EntryMeta, bytes | None]:
    """A manual append (operators, tests): admin-change entries by default."""
    tenant = _text(body, "tenant", required=True)
    assert tenant is not None  # noqa: S101 - required above
    try:
        kind = EntryKind(body.get("kind") or EntryKind.ADMIN_CHANGE.value)
    except ValueError as exc:
        kinds = ", ".join(k.value for k in EntryKind)
        raise UsageError(f"kind must be one of: {kinds}") from exc
    attrs = body.get("attrs") or {}
    if not isinstance(attrs, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()
    ):
        raise UsageError("attrs must map strings to strings")
    payload = None
    if body.get("payload_b64") is not None:
        try:
            payload = base64.b64decode(str(body["payload_b64"]), validate=True)
        except ValueError as exc:
            raise UsageError("payload_b64 is not valid base64") from exc
    meta = EntryMeta(
        kind=kind,
        tenant=tenant,
        time_ms=int(time.time() * 1000),
        decision=_text(body, "decision"),
        provider=_text(body, "provider"),
        data_class=_text(body, "data_class"),
        request_id=_text(body, "request_id"),
        attrs={"actor": actor, **attrs},
    )
    return meta, payload
