"""Labels for creating tenants and apps, limits, budgets and usage: key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {}
