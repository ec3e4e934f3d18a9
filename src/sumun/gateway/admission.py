"""Admission: the stage where policy decides, between authentication and the ledger.

The decision itself is pure policy (`sumun.policy`): classify the request (declared header,
tenant default, content markings), then admit only the providers whose declared profile
qualifies for that class. The route's first choice not admitted but another is ⇒ `reroute`;
none admitted ⇒ `block` (403 with the rule id, never the content); auditors do not call models.
Korean PII is detected here too: a unique identifier (RRN, FRN, passport, driver licence)
makes the request at least S, and the types found (never the values) go into the ledger. The
per-type actions (mask, pseudonymize) join here with the rest of issue 5.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sumun.config import RouteConfig, Settings
from sumun.gateway.wire import BadRequestError
from sumun.policy.classes import DataClass
from sumun.policy.classify import DEFAULT_MARKERS, MarkerSet, classify
from sumun.policy.pii import Detector
from sumun.policy.profiles import ProviderProfile, admit_profile
from sumun.store.model import Principal, Role, Tenant

__all__ = ["Admission", "Decision", "request_texts"]

Action = Literal["allow", "transform", "reroute", "block"]


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    rules: tuple[str, ...]
    data_class: str | None
    reason: str
    providers: tuple[str, ...] = ()  # providers admitted for this request, in route order
    pii_types: tuple[str, ...] = ()  # PII types found (types only: never the values)


def _text_of(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                yield part
            elif isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    yield text
                yield from _text_of(part.get("content"))


def request_texts(body: Mapping[str, Any]) -> Iterator[str]:
    """The human text of a request in either wire format (messages, system, input)."""
    yield from _text_of(body.get("system"))
    yield from _text_of(body.get("input"))
    yield from _text_of(body.get("instructions"))
    for message in body.get("messages") or ():
        if isinstance(message, Mapping):
            yield from _text_of(message.get("content"))


# PIPA art. 24 / decree 19 unique identifiers: their presence makes a request at least S.
UNIQUE_IDENTIFIERS = frozenset({"KR_RRN", "KR_FRN", "KR_PASSPORT", "KR_DRIVER_LICENSE"})


class Admission:
    def __init__(self, settings: Settings) -> None:
        self._markers = MarkerSet(DEFAULT_MARKERS)
        self._pii = Detector()
        self._max_class: dict[str, DataClass] = {}
        for provider in settings.providers:
            declared = provider.effective_profile()
            profile = ProviderProfile(**declared.model_dump()) if declared else ProviderProfile()
            self._max_class[provider.name] = admit_profile(profile).max_class

    def max_class(self, provider: str) -> DataClass:
        return self._max_class.get(provider, DataClass.OPEN)

    def decide(
        self,
        principal: Principal,
        tenant: Tenant,
        route: RouteConfig,
        declared_header: str | None,
        body: Mapping[str, Any],
    ) -> Decision:
        declared = None
        if declared_header is not None:
            try:
                declared = DataClass.parse(declared_header)
            except ValueError as exc:
                raise BadRequestError(
                    400, "X-Sumun-Data-Class must be C, S or O", code="invalid_data_class"
                ) from exc
        default = DataClass.parse(tenant.default_data_class) if tenant.default_data_class else None
        texts = list(request_texts(body))
        pii_types = sorted({f.type for text in texts for f in self._pii.detect(text)})
        unique = [t for t in pii_types if t in UNIQUE_IDENTIFIERS]
        found = classify(
            texts,
            markers=self._markers,
            declared=declared,
            default=default,
            pii_floor=DataClass.SENSITIVE if unique else None,
            pii_types=unique,
        )
        data_class = found.data_class
        rules = tuple(r for r in found.rules if r != "class.none")
        if principal.role is Role.AUDITOR:
            return Decision(
                "block",
                ("role.auditor-read-only", *rules),
                data_class.value,
                "auditor keys review the ledger; they cannot call models",
                pii_types=tuple(pii_types),
            )
        targets = [t.provider for t in route.targets]
        admitted = tuple(p for p in targets if self.max_class(p).admits(data_class))
        if not admitted:
            return Decision(
                "block",
                (*rules, "profile.none-admitted"),
                data_class.value,
                f"no provider for model '{route.model}' is admitted for class "
                f"{data_class.value} data (rule profile.none-admitted)",
                pii_types=tuple(pii_types),
            )
        if admitted[0] != targets[0]:
            return Decision(
                "reroute",
                (*rules, "profile.reroute"),
                data_class.value,
                f"class {data_class.value} data rerouted to admitted provider {admitted[0]}",
                admitted,
                tuple(pii_types),
            )
        return Decision(
            "allow",
            ("admit.tenant", *rules),
            data_class.value,
            f"tenant {tenant.name} may use {route.model} for class {data_class.value}",
            admitted,
            tuple(pii_types),
        )
