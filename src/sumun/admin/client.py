"""Client side of the admin channel: talks to a running Sumun over its Unix socket.

Errors come back as the same `SumunError` subclass the server raised, so the CLI reports a
running server's refusal exactly as it would report its own.
"""

from __future__ import annotations

import getpass
import socket
from pathlib import Path
from typing import Any

import httpx

from sumun import errors
from sumun.admin.server import socket_path, token_path
from sumun.errors import AdminChannelError, SumunError

__all__ = ["AdminClient", "running_server"]


def _actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def running_server(home: Path) -> AdminClient | None:
    """An AdminClient when a Sumun serves this home, else None (the CLI then acts directly)."""
    sock, token_file = socket_path(home), token_path(home)
    if not sock.exists() or not token_file.exists():
        return None
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(sock))
    except OSError:
        return None  # stale socket from a server that died
    finally:
        probe.close()
    return AdminClient(sock, token_file.read_text().strip())


class AdminClient:
    def __init__(self, sock: Path, token: str, *, timeout: float = 30.0) -> None:
        self._sock = sock
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(sock)),
            base_url="http://sumun-admin",
            headers={"authorization": f"Bearer {token}", "x-sumun-actor": _actor()},
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"<AdminClient {self._sock}>"

    def close(self) -> None:
        self._client.close()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._client.request(method, f"/admin/v1{path}", json=body)
        except httpx.HTTPError as exc:
            raise AdminChannelError(f"the running Sumun did not answer: {exc}") from exc
        try:
            payload = response.json()
        except ValueError as exc:
            raise AdminChannelError(
                f"bad answer from the running Sumun ({response.status_code})"
            ) from exc
        if response.status_code >= 400:
            problem = payload.get("error", {}) if isinstance(payload, dict) else {}
            kind = getattr(errors, str(problem.get("type", "")), None)
            message = str(problem.get("message", f"HTTP {response.status_code}"))
            if kind is errors.DecryptionError:
                raise errors.DecryptionError()
            if isinstance(kind, type) and issubclass(kind, SumunError):
                error = kind.__new__(kind)
                SumunError.__init__(error, message, advice="")
                raise error
            raise AdminChannelError(message)
        return payload
