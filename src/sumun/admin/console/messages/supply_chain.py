"""Labels for the supply-chain page: recorded scans, findings, AI-BOM: key → (English, Korean)."""

MESSAGES: dict[str, tuple[str, str]] = {}
