"""The AI system register (AI Basic Act art. 33): each app's purpose, sector, models, oversight
contact, and whether it is high-impact — decided in advance, as art. 33 asks.

Stored in `$SUMUN_HOME/comply/register.json`, not in store.db: the register is the compliance
officer's record, written rarely, read by the report; it needs no schema migration of the
directory the gateway authenticates against, and stays readable as a plain file an auditor can
diff. Writes are read-modify-write under an exclusive lock, replaced atomically (`sumun._fs`);
the CLI also records each change as a ledger entry, so the register's history is tamper-evident.

    {"format": 1, "apps": [Registration…]}

The high-impact questionnaire follows art. 2(4) and MSIT's January-2026 criteria: the system is
used in one of the listed areas (`catalog/high_impact_areas.yaml`) AND it may significantly
affect life, physical safety or fundamental rights AND it is used automatically, without a
person making the final decision. Each answer is recorded in the `Determination`. "Unsure"
counts as high-impact until MSIT confirms otherwise (art. 33(2)): the safe default. An entry
made before the automation question existed has `automated: None` (not asked), read as unsure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sumun.comply.model import HighImpactArea
from sumun.errors import StateError, UsageError
from sumun.store.documents import Documents, as_documents

__all__ = [
    "QUESTION_AUTOMATED",
    "QUESTION_SIGNIFICANT",
    "REGISTER_FILE",
    "Determination",
    "Register",
    "RegisterSector",
    "Registration",
    "Significance",
    "determine",
    "parse_subject",
]

REGISTER_FILE = "comply/register.json"
_FORMAT = 1

RegisterSector = Literal["finance", "healthcare", "public", "other"]
Significance = Literal["yes", "no", "unsure"]
_NAME = r"^[a-z0-9][a-z0-9._-]{0,62}$"


# The questionnaire's yes/no/unsure questions, asked after the areas (CLI and admin API alike).
QUESTION_SIGNIFICANT = (
    "Can its output significantly affect a person's life, physical safety or fundamental "
    "rights? (AI Basic Act art. 2(4))"
)
QUESTION_AUTOMATED = (
    "Is its output used automatically — without a person making the final decision? "
    "(MSIT's high-impact criteria, January 2026; 최종 의사결정에 사람이 개입하지 않는가?)"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Determination(_Strict):
    """Whether the app is high-impact, and how that was decided."""

    high_impact: bool
    method: Literal["declared", "questionnaire"]
    areas: tuple[str, ...] = ()  # art. 2(4) area ids the app is used in
    significant: Significance | None = None  # the answer to QUESTION_SIGNIFICANT
    automated: Significance | None = None  # the answer to QUESTION_AUTOMATED; None = not asked
    reason: str


class Registration(_Strict):
    tenant: str = Field(pattern=_NAME)
    app: str = Field(pattern=_NAME)
    purpose: str = Field(min_length=3, max_length=2000)
    sector: RegisterSector
    determination: Determination
    models: tuple[str, ...] = ()  # model aliases the app uses
    oversight: str | None = Field(default=None, max_length=500)  # responsible person, contact
    data_classes: tuple[Literal["C", "S", "O"], ...] = ()  # what the app handles
    registered_at: float
    updated_at: float
    registered_by: str

    @property
    def subject(self) -> str:
        return f"{self.tenant}/{self.app}"

    @property
    def high_impact(self) -> bool:
        return self.determination.high_impact


class _RegisterFile(_Strict):
    format: Literal[1]
    apps: tuple[Registration, ...] = ()


def parse_subject(text: str) -> tuple[str, str]:
    """'tenant/app' → (tenant, app); UsageError naming the expected form otherwise."""
    tenant, sep, app = text.partition("/")
    if not sep or not tenant or not app or "/" in app:
        raise UsageError(f"name the app as TENANT/APP (e.g. demo/playground), not {text!r}")
    return tenant, app


def determine(
    areas: Sequence[HighImpactArea],
    chosen: Sequence[str],
    significant: Significance,
    automated: Significance | None = None,
) -> Determination:
    """The questionnaire's answer: high-impact iff in an area, significant and automated.

    `automated` answers QUESTION_AUTOMATED; None (not asked) counts as unsure.
    """
    known = {a.id: a for a in areas}
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise UsageError(
            f"unknown high-impact area {unknown[0]!r}; valid ids: {', '.join(known)} "
            "(`sumun comply areas` explains each)"
        )
    picked = tuple(dict.fromkeys(chosen))
    if not picked:
        return Determination(
            high_impact=False,
            method="questionnaire",
            significant=significant,
            automated=automated,
            reason="not used in any area listed in art. 2(4)",
        )
    titles = "; ".join(f"({known[c].item}) {known[c].title_en}" for c in picked)
    keep = "keep this reasoning; MSIT can be asked to confirm, art. 33(2)"
    if significant == "no":
        return Determination(
            high_impact=False,
            method="questionnaire",
            areas=picked,
            significant=significant,
            automated=automated,
            reason=f"used in {titles}, but without significant effect on life, safety or "
            f"fundamental rights ({keep})",
        )
    if automated == "no":
        return Determination(
            high_impact=False,
            method="questionnaire",
            areas=picked,
            significant=significant,
            automated=automated,
            reason=f"used in {titles}, but a person makes the final decision — under MSIT's "
            f"January-2026 criteria only automated use makes a listed area high-impact ({keep})",
        )
    why = "may significantly affect" if significant == "yes" else "unsure whether it affects"
    how = {
        "yes": "used automatically, without a person in the final decision",
        "unsure": "unsure whether a person makes the final decision",
        None: "the final-decision question was not answered",
    }[automated]
    return Determination(
        high_impact=True,
        method="questionnaire",
        areas=picked,
        significant=significant,
        automated=automated,
        reason=f"used in {titles}, {why} life, safety or fundamental rights, and {how}",
    )


class Register:
    """The register of one deployment: a file in SUMUN_HOME, or a shared control-store row."""

    def __init__(self, home: Path | Documents) -> None:
        self._docs = as_documents(home)
        self.path = self._docs.where(REGISTER_FILE)

    def __repr__(self) -> str:
        return f"<Register {self.path}>"

    def _parse(self, body: bytes | None) -> tuple[Registration, ...]:
        if body is None:
            return ()
        try:
            parsed = _RegisterFile.model_validate_json(body)
        except ValidationError as exc:
            raise StateError(
                f"the AI system register {self.path} is damaged ({exc.__class__.__name__})",
                advice="restore it from a backup; the ledger records every change to it",
            ) from exc
        return parsed.apps

    def load(self) -> tuple[Registration, ...]:
        return self._parse(self._docs.read(REGISTER_FILE))

    def put(self, registration: Registration) -> Registration:
        """Add or replace the app's entry (the first registration time is kept)."""
        result = [registration]

        def change(old: bytes | None) -> bytes:
            apps = {r.subject: r for r in self._parse(old)}
            previous = apps.get(registration.subject)
            entry = registration
            if previous is not None:
                entry = registration.model_copy(update={"registered_at": previous.registered_at})
            apps[registration.subject] = entry
            result.append(entry)
            return self._body(tuple(apps[k] for k in sorted(apps)))

        self._docs.update(REGISTER_FILE, change)
        return result[-1]

    def remove(self, subject: str) -> Registration:
        gone: list[Registration] = []

        def change(old: bytes | None) -> bytes:
            apps = {r.subject: r for r in self._parse(old)}
            if subject not in apps:
                raise UsageError(f"{subject} is not in the register")
            gone.append(apps.pop(subject))
            return self._body(tuple(apps[k] for k in sorted(apps)))

        self._docs.update(REGISTER_FILE, change)
        return gone[-1]

    @staticmethod
    def _body(apps: tuple[Registration, ...]) -> bytes:
        body = {"format": _FORMAT, "apps": [a.model_dump(mode="json") for a in apps]}
        return json.dumps(body, ensure_ascii=False, indent=1).encode()
