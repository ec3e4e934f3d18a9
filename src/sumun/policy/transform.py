"""Masking, pseudonymization and restoration of text — pure, streaming-safe.

- mask: the value becomes a typed placeholder, `[주민등록번호]`; nothing can bring it back.
- pseudonymize: the value becomes a token consistent within the request, `[주민등록번호_1]`
  (the same number written `900101-1234567` or `9001011234567` gets the same token). The
  token → original table is the "additional information" of PIPA decree 29-5: the caller keeps
  it apart from the data (sealed under the tenant key, stored separately, never in the ledger).
- restore: tokens in the model's answer become the originals again. `Restorer.feed` works on a
  stream of text deltas and holds back a tail that could still be the start of a token, so a
  token split across SSE chunks (`[주민등록` + `번호_1]`) is restored too.
- `OutputScanner`: PII the model produces is masked (or the answer withheld) by the same kind
  of rules, over a stream too: it holds back a window so a number split across chunks is seen
  whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sumun.policy.decide import Step
from sumun.policy.pii.model import Finding

__all__ = [
    "LABELS",
    "OutputHit",
    "OutputScanner",
    "Pseudonyms",
    "Restorer",
    "apply_steps",
    "placeholder",
]

LABELS: Mapping[str, str] = {
    "KR_RRN": "주민등록번호",
    "KR_FRN": "외국인등록번호",
    "KR_PASSPORT": "여권번호",
    "KR_DRIVER_LICENSE": "운전면허번호",
    "KR_BRN": "사업자등록번호",
    "KR_CRN": "법인등록번호",
    "PHONE_KR": "전화번호",
    "CREDIT_CARD": "카드번호",
    "BANK_ACCOUNT_KR": "계좌번호",
    "EMAIL": "이메일",
    "IP_ADDRESS": "IP주소",
    "KR_ADDRESS": "주소",
    "KR_VEHICLE_PLATE": "차량번호",
    "KR_POSTAL_CODE": "우편번호",
    "KR_HEALTH_INSURANCE": "건강보험증번호",
}

_TOKEN = re.compile(r"\[([^\[\]\s]{1,16})_(\d{1,5})\]")
_MAX_TOKEN = 32  # longer than any token we make: `[` + label + `_` + 5 digits + `]`


def placeholder(kind: str) -> str:
    return f"[{LABELS.get(kind, kind)}]"


def _canonical(kind: str, value: str) -> str:
    """The identity of a value for consistent tokens: width-folded, separators dropped."""
    folded = unicodedata.normalize("NFKC", value)
    if kind in ("EMAIL", "KR_ADDRESS"):
        return " ".join(folded.lower().split())
    return "".join(ch for ch in folded if ch.isalnum()).upper()


class Pseudonyms:
    """Per-request tokens. `mapping()` is the re-identification key: treat it as secret."""

    def __init__(self, avoid: Iterable[str] = ()) -> None:
        # Token-shaped strings already in the texts: a new token must not collide with them.
        self._taken = {m.group(0) for text in avoid if "[" in text for m in _TOKEN.finditer(text)}
        self._by_value: dict[tuple[str, str], str] = {}
        self._originals: dict[str, str] = {}
        self._counter: dict[str, int] = {}

    def token(self, kind: str, value: str) -> str:
        key = (kind, _canonical(kind, value))
        found = self._by_value.get(key)
        if found is not None:
            return found
        label = LABELS.get(kind, kind)
        n = self._counter.get(label, 0)
        while True:
            n += 1
            token = f"[{label}_{n}]"
            if token not in self._taken:
                break
        self._counter[label] = n
        self._by_value[key] = token
        self._originals[token] = value
        return token

    def mapping(self) -> dict[str, str]:
        return dict(self._originals)

    def __len__(self) -> int:
        return len(self._originals)


def apply_steps(text: str, steps: Sequence[Step], pseudonyms: Pseudonyms) -> str:
    """Replace the spans of `steps` (all for this text) by placeholders or tokens."""
    out: list[str] = []
    pos = 0
    for step in sorted(steps, key=lambda s: s.start):
        if step.start < pos:  # overlapping findings: the first one wins
            continue
        out.append(text[pos : step.start])
        value = text[step.start : step.end]
        if step.action == "mask":
            out.append(placeholder(step.type))
        else:
            out.append(pseudonyms.token(step.type, value))
        pos = step.end
    out.append(text[pos:])
    return "".join(out)


class Restorer:
    """Tokens back to originals, over whole texts or a stream of deltas."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._mapping = dict(mapping)
        self._held = ""
        self.restored = 0

    def _sub(self, match: re.Match[str]) -> str:
        original = self._mapping.get(match.group(0))
        if original is None:
            return match.group(0)
        self.restored += 1
        return original

    def restore(self, text: str) -> str:
        if not self._mapping or "[" not in text:
            return text
        return _TOKEN.sub(self._sub, text)

    def feed(self, delta: str) -> str:
        """Restore what can be restored now; hold back a possible token prefix."""
        text = self._held + delta
        self._held = ""
        cut = text.rfind("[")
        if cut != -1 and "]" not in text[cut:] and len(text) - cut < _MAX_TOKEN:
            self._held = text[cut:]
            text = text[:cut]
        return self.restore(text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return self.restore(held)

    @property
    def holding(self) -> bool:
        return bool(self._held)


@dataclass(frozen=True, slots=True)
class OutputHit:
    type: str
    action: str  # "mask" | "block"
    rule: str


# type -> (action, rule id, minimum score)
OutputRules = Mapping[str, tuple[str, str, float]]


class OutputScanner:
    """Masks PII in a model's answer, whole or as a stream of deltas.

    Streaming keeps a window of `window` characters unsent: a finding that could still grow
    (it touches the window) waits for more text. `context` characters already sent are kept
    for the detector's context words but never rewritten. `blocked` is set (to the rule id)
    when an answer must be withheld; the caller decides what the client then gets.
    """

    def __init__(
        self,
        detect: Callable[[str], list[Finding]],
        rules: OutputRules,
        *,
        window: int = 64,
        context: int = 48,
    ) -> None:
        self._detect = detect
        self._rules = dict(rules)
        self._window = window
        self._context = context
        self._sent_tail = ""
        self._pending = ""
        self.hits: list[OutputHit] = []
        self.blocked: str | None = None

    @property
    def active(self) -> bool:
        return bool(self._rules)

    def _rewrite(self, text: str, offset: int, limit: int) -> tuple[str, int]:
        """Rewrite findings in text[offset:limit]; return (new text of that part, new limit).

        A finding crossing `limit` moves the limit to its start (it waits for more text).
        """
        out: list[str] = []
        pos = offset
        for f in self._detect(text):
            if f.end <= offset:
                continue
            if f.start < offset:
                continue  # began in text already sent: cannot be rewritten any more
            if f.start >= limit:
                break
            if f.end > limit:
                limit = f.start
                break
            rule = self._rules.get(f.type)
            if rule is None or f.score < rule[2]:
                continue
            action, rule_id, _min = rule
            self.hits.append(OutputHit(f.type, action, rule_id))
            if action == "block":
                self.blocked = self.blocked or rule_id
            out.append(text[pos : f.start])
            out.append(placeholder(f.type))
            pos = f.end
        out.append(text[pos:limit])
        return "".join(out), limit

    def scan(self, text: str) -> str:
        """A whole answer at once."""
        if not self._rules or not text:
            return text
        rewritten, _limit = self._rewrite(text, 0, len(text))
        return rewritten

    def feed(self, delta: str) -> str:
        if not self._rules:
            return delta
        self._pending += delta
        if len(self._pending) <= self._window:
            return ""
        text = self._sent_tail + self._pending
        offset = len(self._sent_tail)
        limit = len(text) - self._window
        rewritten, limit = self._rewrite(text, offset, limit)
        emitted_raw = text[offset:limit]
        self._pending = text[limit:]
        self._sent_tail = (self._sent_tail + emitted_raw)[-self._context :]
        return rewritten

    def flush(self) -> str:
        if not self._rules:
            return ""
        text = self._sent_tail + self._pending
        offset = len(self._sent_tail)
        rewritten, _limit = self._rewrite(text, offset, len(text))
        self._pending = ""
        return rewritten
