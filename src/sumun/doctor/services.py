"""Checks of what runs beside the home: the server at its configured address, and Redis.

The server is asked `GET /readyz` once (a loopback address when it listens on every
interface); nothing listening there is not a problem — `sumun doctor` also runs before the
first start. Redis is pinged with short timeouts; its URL is shown without its password.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from sumun.doctor.model import Check, Context, ReadyProbe, fail, ok, warn

__all__ = ["check_redis", "check_server", "probe_ready"]

_ANY = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 - mapped away from


def probe_ready(host: str, port: int, timeout: float) -> ReadyProbe:
    host = _ANY.get(host, host)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/readyz"
    try:
        answer = httpx.get(url, timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return ReadyProbe(url, None, {})
    body: dict[str, Any] = {}
    try:
        parsed = answer.json()
        if isinstance(parsed, dict):
            body = parsed
    except ValueError:
        pass
    return ReadyProbe(url, answer.status_code, body)


def check_server(ctx: Context) -> Check:  # noqa: PLR0911 - one exit per answer
    name = "running server"
    probe = ctx.ready
    if probe is None:
        return fail(name, "not checked: sumun.yaml did not load", "fix sumun.yaml first")
    if not probe.running:
        return ok(name, f"none answers at {probe.url} (not running, or elsewhere)")
    reason = str(probe.body.get("reason") or "")
    if probe.status_code == 200 and probe.body.get("ready") is True:
        if probe.body.get("degraded"):
            return warn(
                name,
                f"{probe.url}: ready but degraded: {probe.body['degraded']}",
                "the ledger store is behind: check it (entries are spooled meanwhile)",
            )
        return ok(name, f"{probe.url}: ready")
    if probe.status_code == 503 and reason == "sealed":
        return warn(name, f"{probe.url}: sealed, refusing traffic", "run `sumun unseal`")
    if probe.status_code == 503 and reason == "shutting down":
        return warn(name, f"{probe.url}: shutting down", "wait for it to stop, then start it")
    if probe.status_code == 503:
        return fail(name, f"{probe.url}: not ready: {reason}", "fix what the reason names")
    return warn(
        name,
        f"{probe.url} answered HTTP {probe.status_code}: is it Sumun?",
        "check server.host and server.port, and what else listens there",
    )


def _shown(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_redis(ctx: Context) -> Check | None:
    if ctx.settings is None or ctx.settings.gateway.redis_url is None:
        return None
    import redis

    name = "redis"
    url = ctx.settings.gateway.redis_url
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=ctx.timeout, socket_connect_timeout=ctx.timeout
        )
    except ValueError:
        return fail(name, "gateway.redis_url does not parse", "give e.g. redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis.AuthenticationError:
        return fail(name, f"{_shown(url)} refused the credentials", "check the URL's password")
    except redis.RedisError as exc:
        return fail(
            name,
            f"cannot reach {_shown(url)}: {type(exc).__name__}",
            "is Redis running? Limits and the kill switch are shared through it",
        )
    finally:
        client.close()
    return ok(name, f"{_shown(url)} answers")
