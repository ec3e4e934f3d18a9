"""How many tokens to reserve against a budget before a request goes upstream (issue 12).

A budget was charged after the answer, so concurrent requests could all pass the check and
spend it many times over (50 at once on a 100-token budget served 910), and a stream the client
cut before its usage chunk was charged nothing. Now admission reserves an upper estimate,
atomically across processes (`Limiter.check(reserve=…)`), and the answer settles it: the
reservation becomes what the provider reported, or stays whole when nothing was reported.

The estimate: the request's own output cap (`max_tokens`, `max_completion_tokens`,
`max_output_tokens`; else `gateway.default_output_reservation`; none for embeddings) plus one
token per 3 bytes of body — generous for English (~4 bytes a token) and about right for Korean
(3 bytes a syllable in UTF-8, roughly a token each).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["reservation"]

_CAPS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def reservation(
    body: Mapping[str, Any], body_bytes: int, *, endpoint: str, default_output: int
) -> int:
    output = 0
    if endpoint != "embeddings":
        output = default_output
        for name in _CAPS:
            cap = body.get(name)
            if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
                output = cap
                break
    return body_bytes // 3 + 1 + output
