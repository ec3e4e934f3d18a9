"""The detector's output type and the public entity type names."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENTITY_TYPES", "Finding"]

# CONTRACTS.md: names may be added, never renamed. KR_POSTAL_CODE and KR_HEALTH_INSURANCE
# (건강보험증번호) are additions.
ENTITY_TYPES: tuple[str, ...] = (
    "KR_RRN",
    "KR_FRN",
    "KR_PASSPORT",
    "KR_DRIVER_LICENSE",
    "KR_BRN",
    "KR_CRN",
    "PHONE_KR",
    "CREDIT_CARD",
    "BANK_ACCOUNT_KR",
    "EMAIL",
    "IP_ADDRESS",
    "KR_ADDRESS",
    "KR_VEHICLE_PLATE",
    "KR_POSTAL_CODE",
    "KR_HEALTH_INSURANCE",
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected identifier: `text[start:end]` (code points, end exclusive).

    MUST NOT carry the matched text: findings are logged and recorded in the ledger.
    """

    type: str
    start: int
    end: int
    score: float

    def to_json(self) -> dict[str, object]:
        return {"type": self.type, "start": self.start, "end": self.end, "score": self.score}
