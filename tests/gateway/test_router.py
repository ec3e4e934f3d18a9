"""Routing rules: order, weights, kill switch, breaker, and when failing over is allowed."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from sumun.config import RouteConfig, RouteTarget
from sumun.gateway.breaker import Breaker
from sumun.gateway.router import Router, UnknownModelError
from sumun.gateway.upstream.base import Call, UpstreamError, Wire


class _Adapter:
    def __init__(self, name: str, fail: UpstreamError | None = None) -> None:
        self.name = name
        self.fail = fail
        self.calls: list[str] = []

    async def complete(self, call: Call) -> str:
        self.calls.append(call.body["model"])
        if self.fail is not None:
            raise self.fail
        return f"{self.name}:{call.body['model']}"


def _router(
    strategy: str, adapters: dict[str, _Adapter], cut: set[str] | None = None, **kw: Any
) -> Router:
    route = RouteConfig(
        model="chat",
        strategy=strategy,  # type: ignore[arg-type]
        targets=(
            RouteTarget(provider="a", model="ma", weight=3),
            RouteTarget(provider="b", model="mb", weight=1),
        ),
    )
    return Router(
        [route],
        adapters,  # type: ignore[arg-type]
        is_cut=lambda name: name in (cut or set()),
        breaker=kw.pop("breaker", Breaker(failures=2, cooldown_seconds=60)),
        rng=random.Random(7),
        **kw,
    )


def _call() -> Call:
    return Call("chat", Wire.OPENAI, {"model": "chat", "messages": []}, False, "r1")


async def _send(adapter: Any, call: Call) -> Any:
    return await adapter.complete(call)


def _run(router: Router) -> tuple[Any, Any]:
    return asyncio.run(router.run("chat", _call(), _send))


def test_fallback_order_and_model_rewrite() -> None:
    a, b = _Adapter("a"), _Adapter("b")
    result, attempt = _run(_router("fallback", {"a": a, "b": b}))
    assert result == "a:ma" and attempt.provider == "a" and b.calls == []


def test_weighted_balancing_follows_the_weights() -> None:
    router = _router("weighted", {"a": _Adapter("a"), "b": _Adapter("b")})
    firsts = Counter(router.order("chat")[0].provider for _ in range(4000))
    assert 0.70 < firsts["a"] / 4000 < 0.80  # weight 3 of 4


def test_retryable_failure_fails_over_before_the_first_byte() -> None:
    a = _Adapter("a", UpstreamError("overloaded", provider="a", status=429, retryable=True))
    b = _Adapter("b")
    result, attempt = _run(_router("fallback", {"a": a, "b": b}))
    assert result == "b:mb" and attempt.provider == "b"


@pytest.mark.parametrize(
    "error",
    [
        UpstreamError("bad request", provider="a", status=400, retryable=False),
        UpstreamError("cut mid-stream", provider="a", status=502, retryable=True, started=True),
    ],
)
def test_no_failover_after_a_non_retryable_error_or_once_streaming(error: UpstreamError) -> None:
    a, b = _Adapter("a", error), _Adapter("b")
    with pytest.raises(UpstreamError) as info:
        _run(_router("fallback", {"a": a, "b": b}))
    assert info.value is error and b.calls == []


def test_a_cut_provider_is_never_chosen_and_all_cut_is_a_clear_refusal() -> None:
    a, b = _Adapter("a"), _Adapter("b")
    _result, attempt = _run(_router("weighted", {"a": a, "b": b}, cut={"a"}))
    assert attempt.provider == "b" and a.calls == []
    with pytest.raises(UpstreamError, match="cut off by the kill switch") as info:
        _run(_router("fallback", {"a": a, "b": b}, cut={"a", "b"}))
    assert info.value.status == 503 and info.value.kind == "provider_cut"


def test_an_open_breaker_skips_the_provider() -> None:
    breaker = Breaker(failures=2, cooldown_seconds=60)
    failing = _Adapter("a", UpstreamError("down", provider="a", status=503, retryable=True))
    b = _Adapter("b")
    router = _router("fallback", {"a": failing, "b": b}, breaker=breaker)
    for _ in range(2):
        _run(router)
    assert len(failing.calls) == 2
    _run(router)
    assert len(failing.calls) == 2  # circuit open: a is not even tried
    assert len(b.calls) == 3


def test_unknown_model() -> None:
    with pytest.raises(UnknownModelError, match="does not exist"):
        _router("fallback", {"a": _Adapter("a"), "b": _Adapter("b")}).route("nope")
