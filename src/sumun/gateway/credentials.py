"""The caller's virtual key, read from its request headers — one rule for every public endpoint.

What the SDKs send (checked against the installed clients):

- OpenAI SDK: `Authorization: Bearer <key>`, and nothing else.
- Anthropic SDK: `Authorization: Bearer <key>` (recent releases, and `auth_token` in all of
  them); older releases, Anthropic's own curl examples and most tools built on the Messages API
  send `x-api-key: <key>`.

So the rule:

- `Authorization: Bearer <key>` is accepted everywhere (the scheme is case-insensitive).
- `x-api-key: <key>` is accepted only where the Anthropic dialect is spoken: `POST /v1/messages`
  and `GET /v1/models` (which both SDKs list). The OpenAI endpoints and `/metrics` do not take
  it: no OpenAI client sends it, and one place to look for a key is one place to audit.
- When both are sent, the bearer wins (the Anthropic SDK sends both when given an `auth_token`
  and an `api_key`; the token is the one the caller chose last).
- Any other scheme (`Basic …`), an empty key, or no header at all is "missing" — AuthError with
  `reason="missing"` (a 401 counted in the metrics, never written to the ledger).
"""

from __future__ import annotations

from collections.abc import Mapping

from sumun.errors import AuthError

__all__ = ["api_key"]

_MISSING = "missing API key: send `Authorization: Bearer <virtual key>`"
_MISSING_EITHER = "missing API key: send `Authorization: Bearer <virtual key>` or `x-api-key`"


def api_key(headers: Mapping[str, str], *, x_api_key: bool) -> str:
    """The key the request presents (not yet checked), or AuthError(reason="missing").

    `headers` looks names up case-insensitively (starlette's `Headers`); `x_api_key` says
    whether this endpoint speaks the Anthropic dialect (see the module docstring).
    """
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        token = auth[7:].strip()
        if token:
            return token
    if x_api_key:
        token = headers.get("x-api-key", "").strip()
        if token:
            return token
        raise AuthError(_MISSING_EITHER, reason="missing")
    raise AuthError(_MISSING, reason="missing")
