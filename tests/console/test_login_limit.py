"""The failed sign-in throttle: its arithmetic with an injected clock, and a real `sumun demo`
refusing a client that failed too often (429, Retry-After, both languages) — even with a good
key then, so a guesser learns nothing more.
"""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from sumun.admin.console.sessions import Throttle
from tests.fixtures.demo import start_demo

# -- the arithmetic ----------------------------------------------------------------------------


def _throttle(**kwargs: int) -> tuple[Throttle, list[float]]:
    now = [1000.0]
    return Throttle(clock=lambda: now[0], **kwargs), now  # type: ignore[arg-type]


def test_a_client_is_refused_after_its_failures_until_the_oldest_leaves_the_window() -> None:
    throttle, now = _throttle(per_client=3, overall=100)
    for second in range(3):
        assert throttle.retry_after("10.0.0.1") is None
        throttle.failed("10.0.0.1")
        now[0] += 10 if second < 2 else 0
    # Failures at 1000, 1010, 1020; now 1020: the first leaves the window at 1060.
    assert throttle.retry_after("10.0.0.1") == 40
    assert throttle.retry_after("10.0.0.2") is None  # another client is not affected
    now[0] = 1059.5
    assert throttle.retry_after("10.0.0.1") == 1
    now[0] = 1060.0
    assert throttle.retry_after("10.0.0.1") is None


def test_the_overall_cap_refuses_everyone() -> None:
    throttle, now = _throttle(per_client=5, overall=4)
    for n in range(4):
        throttle.failed(f"10.0.1.{n}")  # one failure each: no client over its own limit
    assert throttle.retry_after("10.9.9.9") == 60
    now[0] += 60
    assert throttle.retry_after("10.9.9.9") is None


def test_memory_is_bounded_by_the_number_of_clients() -> None:
    throttle = Throttle(per_client=1, overall=10**6, capacity=3, clock=lambda: 0.0)
    for n in range(5):
        throttle.failed(f"10.0.2.{n}")
    assert throttle.retry_after("10.0.2.4") == 60
    assert throttle.retry_after("10.0.2.0") is None  # forgotten: the oldest went first


def test_misuse_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        Throttle(per_client=0)


# -- a real console ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A demo whose console offers OpenID Connect (its provider is never reached here)."""
    home = tmp_path_factory.mktemp("limit") / "home"
    home.mkdir()
    (home / "sumun.yaml").write_text(
        "admin_api:\n  oidc:\n    issuer: http://127.0.0.1:9\n    client_id: c\n"
        "    role_claim: groups\n    roles: {admins: admin}\n",
        encoding="utf-8",
    )
    proc, ready = start_demo(home)
    try:
        yield ready["console_url"], ready["admin_key"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def _login(client: httpx.Client, url: str, key: str) -> httpx.Response:
    form = client.get(f"{url}login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(f"{url}login", data={"api_key": key, "csrf": token.group(1)})


@pytest.mark.slow
def test_ten_failures_a_minute_then_429_with_retry_after_even_for_a_good_key(
    console_url: tuple[str, str],
) -> None:
    url, admin_key = console_url
    with httpx.Client(timeout=20) as client:
        for n in range(9):
            refused = _login(client, url, f"sk-sumun-aaaaaaaaaa-guess{n}")
            assert refused.status_code == 401, refused.text
        # A forged OpenID Connect answer counts too.
        forged = client.get(f"{url}oidc/callback", params={"code": "x", "state": "y"})
        assert forged.status_code == 400
        assert "was not started in this browser" in forged.text

        limited = _login(client, url, admin_key)  # the right key, too late
        assert limited.status_code == 429
        wait = int(limited.headers["retry-after"])
        assert 1 <= wait <= 60
        assert f"Too many failed sign-ins from here. Try again in {wait} seconds." in limited.text

        callback = client.get(f"{url}oidc/callback", params={"code": "x", "state": "y"})
        assert callback.status_code == 429 and "retry-after" in callback.headers

        client.cookies.set("sumun_lang", "ko")
        korean = _login(client, url, admin_key)
        assert korean.status_code == 429
        assert "로그인 실패가 너무 많습니다" in korean.text
        assert client.get(url).status_code == 401  # nobody was signed in
