"""CSRF protection: the synchronizer-token pattern (OWASP CSRF Prevention Cheat Sheet).

Every session has a random token (`Session.csrf`); every POST form carries it in the hidden
field `csrf`; a POST whose field is missing or differs is refused 403 before anything else
is read. SameSite=Strict on the session cookie is the second layer, not the only one.
"""

from __future__ import annotations

import hmac

from sumun.admin.console.sessions import Session

__all__ = ["FIELD", "valid"]

FIELD = "csrf"


def valid(session: Session, presented: str | None) -> bool:
    """Whether `presented` is this session's token (compared in constant time)."""
    if not presented:
        return False
    return hmac.compare_digest(presented.encode(), session.csrf.encode())
