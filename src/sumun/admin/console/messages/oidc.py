"""Labels for signing in with OpenID Connect: key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {}
