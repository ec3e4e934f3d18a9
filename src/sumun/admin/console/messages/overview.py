"""Labels for the overview's charts: key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {}
