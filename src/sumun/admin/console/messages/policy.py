"""Labels for the policy page and its explain playground: key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {}
