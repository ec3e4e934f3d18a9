"""N2SF data classes: C (Classified) > S (Sensitive) > O (Open). A system takes the highest."""

from __future__ import annotations

import enum

__all__ = ["DataClass"]


class DataClass(enum.Enum):
    OPEN = "O"
    SENSITIVE = "S"
    CLASSIFIED = "C"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> DataClass:
        """'C', 'S' or 'O' (any case, surrounding space ignored); ValueError otherwise."""
        try:
            return cls(text.strip().upper())
        except ValueError as exc:
            raise ValueError("a data class is C, S or O") from exc

    @classmethod
    def highest(cls, *classes: DataClass | None) -> DataClass:
        present = [c for c in classes if c is not None]
        return max(present, key=lambda c: c.rank) if present else cls.OPEN

    def admits(self, other: DataClass) -> bool:
        """True if data of class `other` may go where up to `self` is admitted."""
        return other.rank <= self.rank


_RANK = {DataClass.OPEN: 0, DataClass.SENSITIVE: 1, DataClass.CLASSIFIED: 2}
