"""One HTTP status per error, stated once in sumun.errors and read by every surface.

The gateway (`failures.classify_failure`), the admin API (`admin.http.errors.status_of`) and
the admin socket (`admin.server._error`) all answer with `sumun.errors.http_status`; these tests
fail when an error a request can meet has no status, or when a surface says another one.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import orjson
import pytest

import sumun.gateway
from sumun import errors
from sumun.admin.http.errors import status_of
from sumun.admin.server import _error as admin_socket_error
from sumun.errors import SumunError, http_status
from sumun.gateway.failures import classify_failure
from sumun.gateway.inflight import StoppedError
from sumun.gateway.router import UnknownModelError
from sumun.gateway.upstream.base import UpstreamError
from sumun.gateway.wire import BadRequestError

# Errors that never become an answer to a request, each for a stated reason. Adding a class to
# sumun.errors or sumun.gateway without a status fails the test below unless it is listed here.
_NO_ANSWER = {
    "ConfigError": "configuration, read at start and on reload (which answers its own way)",
    "StateError": "SUMUN_HOME itself: the CLI only",
    "UnsealError": "custodian shares: `sumun unseal` only",
    "KeyLayerError": "a base class; only its subclasses are raised",
    "KeystoreCorruptError": "read when the keys are opened, before any request",
    "KeystoreRollbackError": "read when the keys are opened, before any request",
    "TranslationError": "every adapter turns it into an UpstreamError (its status per instance)",
    "UpstreamError": "its status is set per instance (what the client should see)",
}


def _subclasses(cls: type[SumunError]) -> Iterator[type[SumunError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _request_path_errors() -> list[type[SumunError]]:
    for module in pkgutil.walk_packages(sumun.gateway.__path__, "sumun.gateway."):
        if not module.name.endswith("_otel"):  # optional extra (OpenTelemetry)
            importlib.import_module(module.name)
    found = {
        cls
        for cls in _subclasses(SumunError)
        if cls.__module__ == "sumun.errors" or cls.__module__.startswith("sumun.gateway.")
    }
    return sorted(found, key=lambda cls: cls.__name__)


def test_every_error_a_request_can_meet_states_its_status() -> None:
    classes = _request_path_errors()
    assert len(classes) > 25  # the whole tree was found, not an empty walk
    missing = [
        cls.__name__
        for cls in classes
        if cls.__name__ not in _NO_ANSWER and not isinstance(getattr(cls, "status", None), int)
    ]
    assert missing == [], f"give these a `status` in sumun.errors (or say why not): {missing}"
    for name in _NO_ANSWER:
        assert name in {cls.__name__ for cls in classes}, f"{name} no longer exists: unlist it"


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.AuthError("invalid API key"), 401, "invalid_api_key"),
        (errors.ForbiddenError("no"), 403, "forbidden"),
        (errors.RateLimitedError("slow", retry_after=1, scope="key", dimension="rpm"), 429, None),
        (errors.BudgetExceededError("spent", scope="tenant"), 429, "rate_limit_exceeded"),
        (errors.KeyDisabledError("disabled"), 403, "tenant_key_revoked"),
        (errors.KeyDestroyedError("shredded"), 410, "tenant_key_revoked"),
        (errors.KeyStateError("not now"), 409, "tenant_key_revoked"),
        (errors.ProviderCutError("openai"), 503, "provider_cut"),
        (errors.SealedError("sealed"), 503, "unavailable"),
        (StoppedError("sealed"), 503, "unavailable"),
        (errors.LedgerUnavailableError("down"), 503, "unavailable"),
        (errors.LedgerIntegrityError("bad node"), 500, "unavailable"),
        (errors.StoreError("store.db is locked"), 503, "unavailable"),
        (errors.LimiterUnavailableError("redis down"), 503, "unavailable"),
        (errors.ConfigError("no status of its own"), 503, "unavailable"),
        (UnknownModelError("gpt-9"), 404, "model_not_found"),
        (BadRequestError(413, "too big", code="too_large"), 413, "too_large"),
        (UpstreamError("busy", provider="openai", status=429, kind="rate_limited"), 429, None),
        (RuntimeError("a defect"), 500, "internal_error"),
    ],
)
def test_the_gateway_answers_with_the_stated_status(
    exc: Exception, status: int, code: str | None
) -> None:
    got, _message, got_code = classify_failure(exc)
    assert got == status
    assert getattr(exc, "status", status) == status  # stated by the error, read by the gateway
    if code is not None:
        assert got_code == code


@pytest.mark.parametrize(
    "exc",
    [
        errors.UsageError("bad"),
        errors.NotFoundError("no tenant"),
        errors.ConflictError("exists"),
        errors.AdminChannelError("bad token"),
        errors.UnknownKeyError("no key"),
        errors.KeyDisabledError("disabled"),
        errors.KeyDestroyedError("shredded"),
        errors.DecryptionError(),
        errors.ErasedError("erased on 2026-01-01"),
        errors.SealedError("sealed"),
        errors.LedgerError("cannot append"),
        errors.LedgerCorruptError("unparsable"),
        errors.StoreError("locked"),
        errors.BackendUnavailableError("hsm down"),
    ],
)
def test_the_admin_api_and_socket_answer_with_the_same_status(exc: SumunError) -> None:
    stated = http_status(exc, 0)
    assert stated != 0, f"{type(exc).__name__} states no status"
    assert status_of(exc) == stated
    answer = admin_socket_error(exc)
    assert answer.status_code == stated
    assert orjson.loads(bytes(answer.body))["error"]["type"] == type(exc).__name__


def test_an_error_without_a_status_takes_the_surface_default() -> None:
    assert http_status(errors.ConfigError("x"), 409) == 409
    assert status_of(errors.StateError("x")) == 409
    assert classify_failure(errors.UnsealError("x"))[0] == 503
