"""Detection of Korean personal identifiers in free text (KOREA.md, "Identifiers").

`Detector().detect(text)` returns `Finding`s — type, code-point span, score — never the matched
text. Type names are a public contract (CONTRACTS.md, `sumun pii detect`).
"""

from sumun.policy.pii.detector import Detector, detect
from sumun.policy.pii.model import ENTITY_TYPES, Finding

__all__ = ["ENTITY_TYPES", "Detector", "Finding", "detect"]
