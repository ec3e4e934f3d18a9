"""The console's pure parts: sessions (idle timeout on an injected clock), CSRF tokens, the
language negotiation, the redirect guard, and that every label exists in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sumun.admin import console
from sumun.admin.console import csrf, i18n
from sumun.admin.console.sessions import SessionStore
from sumun.admin.console.web import local_path


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_ends_after_the_idle_timeout_and_each_request_restarts_it() -> None:
    clock = Clock()
    store = SessionStore(30 * 60, clock=clock)
    session = store.new()
    clock.now += 29 * 60
    assert store.get(session.sid) is session  # restarts the idle clock
    clock.now += 29 * 60
    assert store.get(session.sid) is session
    clock.now += 30 * 60 + 1
    assert store.get(session.sid) is None
    assert store.get(session.sid) is None  # gone for good


def test_signing_in_gives_a_new_id_and_token_and_ends_the_old_session() -> None:
    store = SessionStore(60)
    anonymous = store.new()
    signed_in = store.sign_in(anonymous, "abcdefgh23")
    assert signed_in.sid != anonymous.sid and signed_in.csrf != anonymous.csrf
    assert store.get(anonymous.sid) is None
    assert store.get(signed_in.sid) is signed_in and signed_in.key_id == "abcdefgh23"
    store.end_key("abcdefgh23")
    assert store.get(signed_in.sid) is None


def test_session_ids_and_tokens_are_long_and_random() -> None:
    store = SessionStore(60)
    sessions = [store.new() for _ in range(50)]
    ids = {s.sid for s in sessions} | {s.csrf for s in sessions}
    assert len(ids) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) for token in ids)


def test_the_store_keeps_at_most_its_capacity_dropping_the_least_recently_used() -> None:
    store = SessionStore(60, capacity=2)
    first, second = store.new(), store.new()
    assert store.get(first.sid) is first  # first is now the most recently used
    store.new()
    assert store.get(second.sid) is None and store.get(first.sid) is first


def test_a_store_refuses_a_timeout_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SessionStore(0)


def test_csrf_accepts_only_the_sessions_own_token() -> None:
    session = SessionStore(60).new()
    assert csrf.valid(session, session.csrf)
    assert not csrf.valid(session, None)
    assert not csrf.valid(session, "")
    assert not csrf.valid(session, session.csrf[:-1] + "x")


@pytest.mark.parametrize(
    ("cookie", "accept", "expected"),
    [
        (None, None, "en"),
        (None, "ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
        (None, "en-US,en;q=0.9,ko;q=0.8", "en"),
        (None, "fr-FR, ko;q=0.5", "ko"),
        (None, "ko;q=0.2, en;q=0.7", "en"),
        (None, "ko;q=0, fr", "en"),
        (None, "ko;q=abc", "en"),
        ("ko", "en-US", "ko"),
        ("en", "ko-KR", "en"),
        ("xx", "ko-KR", "ko"),
    ],
)
def test_the_language_comes_from_the_cookie_then_the_browser(
    cookie: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.negotiate(cookie, accept) == expected


def test_every_label_is_in_both_languages_with_the_same_fields() -> None:
    fields = re.compile(r"\{(\w+)\}")
    for key, (english, korean) in i18n.MESSAGES.items():
        assert english and korean, key
        assert set(fields.findall(english)) == set(fields.findall(korean)), key
    assert i18n.translator("en")("login.key") == "API key"  # CONTRACTS.md
    assert i18n.translator("ko")("login.key") == "API 키"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/console/providers", "/console/providers"),
        ("/console/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/console//evil.example", "/console/"),
        ("/console/\\evil", "/console/"),
        ("/admin/v1/providers", "/console/"),
        (None, "/console/"),
    ],
)
def test_redirects_stay_inside_the_console(given: str | None, expected: str) -> None:
    assert local_path(given) == expected


ASSETS = Path(console.__file__).parent


@pytest.mark.parametrize(
    "path",
    sorted(p for p in ASSETS.rglob("*") if p.suffix in {".html", ".css", ".js", ".svg"}),
    ids=lambda p: str(p.relative_to(ASSETS)),
)
def test_the_console_ships_every_asset_and_nothing_inline(path: Path) -> None:
    """No CDN, no external font or script, nothing the CSP would have to allow inline."""
    text = path.read_text(encoding="utf-8")
    external = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, flags=re.IGNORECASE)
    assert [u for u in external if not u.endswith("//www.w3.org")] == [], path  # SVG xmlns
    assert "@import" not in text and "url(" not in text
    if path.suffix == ".html":
        assert re.search(r"<script(?![^>]*\bsrc=)", text) is None  # no inline script
        assert re.search(r"\son[a-z]+\s*=", text) is None  # no inline event handler
        assert re.search(r"\sstyle\s*=|<style", text) is None  # no inline style
