"""What a `sumun keys …` command acts on: a running Sumun, or SUMUN_HOME directly.

Both answer the same calls with the same JSON shapes, so the commands do not care which.
Direct mode needs the master key for anything but reading: it unseals in this process with
shares given by `--share` (or prompted for, without echo) and seals again when done.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rich.markup import escape

from sumun.admin.client import AdminClient, running_server
from sumun.cli.render import err_console
from sumun.config import Settings
from sumun.crypto.hazmat.aead import Suite
from sumun.errors import SealedError, UsageError
from sumun.keys.envelope import Context
from sumun.keys.epoch import Progress
from sumun.keys.service import KeyService
from sumun.ledger.wire import checkpoint_json, parse_append, tail_json
from sumun.runtime import Runtime, open_runtime

__all__ = ["Credentials", "DirectTarget", "KeyTarget", "RemoteTarget", "open_target"]


def _warn_bad_shares(bad_shares: Sequence[str]) -> None:
    """Unsealed, but some offered shares were wrong: their custodians must hear of it."""
    for bad in bad_shares:
        err_console.print(f"[yellow]warning:[/] {escape(bad)}", highlight=False)
    if bad_shares:
        err_console.print(
            "  Unsealed with the others. Ask that custodian to compare their share with the "
            "printed copy; a share that still does not fit was damaged or forged.",
            highlight=False,
        )


@dataclass(frozen=True)
class Credentials:
    """Shares or passphrase from the command line; asked for lazily when needed."""

    shares: tuple[str, ...] = ()
    passphrase: str | None = None
    prompt_share: Callable[[int, int], str] | None = None
    prompt_passphrase: Callable[[], str] | None = None

    def __repr__(self) -> str:
        return f"<Credentials {len(self.shares)} shares (hidden)>"

    def collect_shares(self, threshold: int) -> list[str]:
        shares = list(self.shares)
        while len(shares) < threshold and self.prompt_share is not None:
            shares.append(self.prompt_share(len(shares) + 1, threshold))
        return shares

    def get_passphrase(self) -> str | None:
        if self.passphrase is None and self.prompt_passphrase is not None:
            return self.prompt_passphrase()
        return self.passphrase


class KeyTarget(Protocol):
    mode: str

    def status(self) -> dict[str, Any]: ...
    def unseal(self) -> dict[str, Any]: ...
    def seal(self) -> dict[str, Any]: ...
    def list_keys(self) -> list[dict[str, Any]]: ...
    def create(self, key_id: str, tenant: str | None, suite: Suite | None) -> dict[str, Any]: ...
    def rotate(self, key_id: str) -> dict[str, Any]: ...
    def disable(self, key_id: str, version: int | None) -> dict[str, Any]: ...
    def enable(self, key_id: str, version: int | None) -> dict[str, Any]: ...
    def destroy(
        self, key_id: str, *, now: bool, grace_days: float | None, version: int | None
    ) -> dict[str, Any]: ...
    def shred_subject(self, key_id: str, subject: str) -> dict[str, Any]: ...
    def rekey(self, key_id: str, progress: Progress | None) -> dict[str, Any]: ...
    def encrypt(self, key_id: str, data: bytes, context: Context, subject: str | None) -> bytes: ...
    def decrypt(self, blob: bytes, context: Context) -> bytes: ...
    def ledger_checkpoint(self) -> dict[str, Any]: ...
    def ledger_append(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def ledger_tail(
        self, count: int, decrypt: bool, kind: str | None = None
    ) -> list[dict[str, Any]]: ...
    def close(self) -> None: ...


class RemoteTarget:
    mode = "running server"

    def __init__(self, client: AdminClient, credentials: Credentials) -> None:
        self._client = client
        self._creds = credentials

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._client.call("GET", "/status")
        return result

    def unseal(self) -> dict[str, Any]:
        status = self.status()
        if not status["sealed"]:
            return {"sealed": False}
        if status["method"] == "passphrase":
            body: dict[str, Any] = {"passphrase": self._creds.get_passphrase()}
        else:
            # Like `vault operator unseal`: each custodian submits their own share(s); the
            # server keeps the progress. With none on the command line, ask for one.
            shares = list(self._creds.shares) or self._creds.collect_shares(1)
            body = {"shares": shares}
        result: dict[str, Any] = self._client.call("POST", "/unseal", body)
        _warn_bad_shares(result.get("bad_shares") or [])
        return result

    def seal(self) -> dict[str, Any]:
        result: dict[str, Any] = self._client.call("POST", "/seal")
        return result

    def list_keys(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._client.call("GET", "/keys")
        return result

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._client.call("POST", path, body or {})
        return result

    def create(self, key_id: str, tenant: str | None, suite: Suite | None) -> dict[str, Any]:
        body = {"key_id": key_id, "tenant": tenant, "suite": suite.value if suite else None}
        return self._post("/keys", body)

    def rotate(self, key_id: str) -> dict[str, Any]:
        return self._post(f"/keys/{key_id}/rotate")

    def disable(self, key_id: str, version: int | None) -> dict[str, Any]:
        return self._post(f"/keys/{key_id}/disable", {"version": version})

    def enable(self, key_id: str, version: int | None) -> dict[str, Any]:
        return self._post(f"/keys/{key_id}/enable", {"version": version})

    def destroy(
        self, key_id: str, *, now: bool, grace_days: float | None, version: int | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"now": now, "grace_days": grace_days, "version": version}
        if now:
            info = self.status()
            if info["method"] == "passphrase":
                body["passphrase"] = self._creds.get_passphrase()
            else:
                body["shares"] = self._creds.collect_shares(int(info["threshold"]))
        return self._post(f"/keys/{key_id}/destroy", body)

    def shred_subject(self, key_id: str, subject: str) -> dict[str, Any]:
        return self._post(f"/keys/{key_id}/shred-subject", {"subject": subject})

    def rekey(self, key_id: str, progress: Progress | None) -> dict[str, Any]:
        del progress  # the admin channel answers once, when the rekey is done
        return self._post(f"/keys/{key_id}/rekey")

    def encrypt(self, key_id: str, data: bytes, context: Context, subject: str | None) -> bytes:
        body = {
            "plaintext_b64": base64.b64encode(data).decode(),
            "tenant": context.tenant,
            "record_id": context.record_id,
            "purpose": context.purpose,
            "subject": subject,
        }
        return base64.b64decode(self._post(f"/keys/{key_id}/encrypt", body)["envelope_b64"])

    def decrypt(self, blob: bytes, context: Context) -> bytes:
        body = {
            "envelope_b64": base64.b64encode(blob).decode(),
            "tenant": context.tenant,
            "record_id": context.record_id,
            "purpose": context.purpose,
        }
        return base64.b64decode(self._post("/decrypt", body)["plaintext_b64"])

    def ledger_checkpoint(self) -> dict[str, Any]:
        return self._post("/ledger/checkpoint")

    def ledger_append(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._post("/ledger/append", body)

    def ledger_tail(
        self, count: int, decrypt: bool, kind: str | None = None
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"count": count, "decrypt": decrypt}
        if kind is not None:
            body["kind"] = kind
        rows: list[dict[str, Any]] = self._client.call("POST", "/ledger/tail", body)
        return rows

    def close(self) -> None:
        self._client.close()


class DirectTarget:
    mode = "SUMUN_HOME directly"

    def __init__(self, runtime: Runtime, credentials: Credentials, actor: str) -> None:
        self._runtime = runtime
        self._service = runtime.keys
        self._creds = credentials
        self._actor = actor
        self._quorum: list[str] = []
        self._bad_shares: list[str] = []

    def _open(self) -> KeyService:
        if self._service.sealed:
            info = self._service.seal_info()
            if info.method == "passphrase":
                passphrase = self._creds.get_passphrase()
                if passphrase is None:
                    raise SealedError("no running Sumun: give --passphrase to act on SUMUN_HOME")
                self._service.unseal(passphrase=passphrase, actor=self._actor)
            else:
                shares = self._creds.collect_shares(info.threshold)
                if not shares:
                    raise SealedError(
                        "no running Sumun: give a quorum of --share to act on SUMUN_HOME"
                    )
                bad = self._service.unseal(shares=shares, actor=self._actor)
                self._bad_shares = [str(b) for b in bad]
                _warn_bad_shares(self._bad_shares)
                # Only the shares that fit count as the quorum of a later destroy --now.
                wrong = {b.number for b in bad}
                self._quorum = [s for n, s in enumerate(shares, start=1) if n not in wrong]
        return self._service

    def status(self) -> dict[str, Any]:
        return self._service.status().to_json()

    def unseal(self) -> dict[str, Any]:
        self._open()
        return {
            "sealed": False,
            "note": "verified; no running Sumun holds keys after this command",
            "bad_shares": self._bad_shares,
        }

    def seal(self) -> dict[str, Any]:
        self._service.seal(actor=self._actor)
        return {"sealed": True}

    def list_keys(self) -> list[dict[str, Any]]:
        return [k.to_json() for k in self._service.status(check_backend=False).keys]

    def create(self, key_id: str, tenant: str | None, suite: Suite | None) -> dict[str, Any]:
        lifecycle = self._open().lifecycle
        return lifecycle.create(key_id, actor=self._actor, tenant=tenant, suite=suite).to_json()

    def rotate(self, key_id: str) -> dict[str, Any]:
        return self._open().lifecycle.rotate(key_id, actor=self._actor).to_json()

    def disable(self, key_id: str, version: int | None) -> dict[str, Any]:
        return self._open().lifecycle.disable(key_id, actor=self._actor, version=version).to_json()

    def enable(self, key_id: str, version: int | None) -> dict[str, Any]:
        return self._open().lifecycle.enable(key_id, actor=self._actor, version=version).to_json()

    def destroy(
        self, key_id: str, *, now: bool, grace_days: float | None, version: int | None
    ) -> dict[str, Any]:
        lifecycle = self._open().lifecycle
        if not now:
            if version is not None:
                raise UsageError("destroying a single version is immediate: add --now")
            return lifecycle.schedule_destroy(
                key_id, actor=self._actor, grace_days=grace_days
            ).to_json()
        info = self._service.seal_info()
        shares: Sequence[str] = ()
        passphrase = None
        if info.method == "passphrase":
            passphrase = self._creds.get_passphrase()
        else:
            # The shares that just unsealed this process count as the quorum: they were
            # presented for this command, which is what an immediate destruction demands.
            shares = self._quorum or self._creds.collect_shares(info.threshold)
        return lifecycle.destroy_now(
            key_id, actor=self._actor, shares=shares, passphrase=passphrase, version=version
        ).to_json()

    def shred_subject(self, key_id: str, subject: str) -> dict[str, Any]:
        return self._open().shred_subject(key_id, subject, actor=self._actor).to_json()

    def rekey(self, key_id: str, progress: Progress | None) -> dict[str, Any]:
        rekeyer = self._open().rekeyer()
        return rekeyer.rekey(key_id, actor=self._actor, progress=progress).to_json()

    def encrypt(self, key_id: str, data: bytes, context: Context, subject: str | None) -> bytes:
        return self._open().encrypt(key_id, data, context, subject=subject)

    def decrypt(self, blob: bytes, context: Context) -> bytes:
        return self._open().decrypt(blob, context)

    def ledger_checkpoint(self) -> dict[str, Any]:
        self._open()
        return checkpoint_json(self._runtime.ledger.checkpoint())

    def ledger_append(self, body: dict[str, Any]) -> dict[str, Any]:
        meta, payload = parse_append(body, self._actor)
        if payload is not None:
            self._open()
        seq = self._runtime.ledger.append(meta, payload, durability="strict").wait()
        return {"seq": seq}

    def ledger_tail(
        self, count: int, decrypt: bool, kind: str | None = None
    ) -> list[dict[str, Any]]:
        if decrypt:
            self._open()
        rows = self._runtime.ledger.tail(count, decrypt=decrypt, kind=kind)
        return [tail_json(row) for row in rows]

    def close(self) -> None:
        self._runtime.close()


def open_target(settings: Settings, credentials: Credentials, actor: str) -> KeyTarget:
    client = running_server(settings.home)
    if client is not None:
        return RemoteTarget(client, credentials)
    return DirectTarget(open_runtime(settings), credentials, actor)
