"""Labels for the compliance page: the live report, attestations, the AI register, oversight
reviews: key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {}
