"""Labels for the key layer's page: seal state, unseal quorum, KEK versions and their lifecycle:
key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {}
