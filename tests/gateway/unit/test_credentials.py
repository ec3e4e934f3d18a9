"""The one rule for reading a caller's key (gateway/credentials.py), header by header."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from sumun.errors import AuthError
from sumun.gateway.credentials import api_key


def _headers(**values: str) -> Headers:
    return Headers({name.replace("_", "-"): value for name, value in values.items()})


@pytest.mark.parametrize("x_api_key", [True, False])
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_a_bearer_key_is_read_on_every_endpoint(scheme: str, x_api_key: bool) -> None:
    headers = _headers(authorization=f"{scheme}  sk-one  ")
    assert api_key(headers, x_api_key=x_api_key) == "sk-one"


def test_x_api_key_is_read_where_the_anthropic_dialect_is_spoken() -> None:
    assert api_key(_headers(x_api_key=" sk-ant "), x_api_key=True) == "sk-ant"
    assert api_key(Headers({"X-Api-Key": "sk-ant"}), x_api_key=True) == "sk-ant"


def test_x_api_key_is_not_a_key_on_the_openai_endpoints() -> None:
    with pytest.raises(AuthError) as caught:
        api_key(_headers(x_api_key="sk-ant"), x_api_key=False)
    assert caught.value.reason == "missing"
    assert "x-api-key" not in str(caught.value)  # it does not advertise what is refused here


def test_the_bearer_wins_when_both_are_sent() -> None:
    headers = _headers(authorization="Bearer sk-token", x_api_key="sk-other")
    assert api_key(headers, x_api_key=True) == "sk-token"


def test_another_scheme_falls_back_to_x_api_key_or_is_missing() -> None:
    basic = {"authorization": "Basic c2stb25lOg=="}
    assert api_key(Headers({**basic, "x-api-key": "sk-ant"}), x_api_key=True) == "sk-ant"
    with pytest.raises(AuthError) as caught:
        api_key(Headers(basic), x_api_key=False)
    assert caught.value.reason == "missing"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer "},
        {"authorization": "Bearer    "},
        {"authorization": "Bearer"},
        {"authorization": "Bearersk-one"},
        {"x-api-key": "   "},
        {"authorization": "Bearer ", "x-api-key": ""},
    ],
)
@pytest.mark.parametrize("x_api_key", [True, False])
def test_an_empty_or_absent_key_is_missing(headers: dict[str, str], x_api_key: bool) -> None:
    with pytest.raises(AuthError) as caught:
        api_key(Headers(headers), x_api_key=x_api_key)
    assert caught.value.reason == "missing"
    assert "Authorization: Bearer" in str(caught.value)


def test_an_empty_bearer_falls_back_to_x_api_key() -> None:
    headers = Headers({"authorization": "Bearer ", "x-api-key": "sk-ant"})
    assert api_key(headers, x_api_key=True) == "sk-ant"
