"""What a passphrase that seals the master key must be (NIST SP 800-63B §5.1.1.2).

The sealed record offers offline guessing (one scrypt per guess), so the passphrase itself is
the only defence once the file is copied. Rules, after the same normalisation the KDF applies
(`kdf.normalise_passphrase`: RFC 8265 OpaqueString, NFC — so Hangul typed composed or
decomposed counts the same):

- at least `MIN_CHARACTERS` (12) characters — longer than SP 800-63B's floor of 8 for memorised
  secrets, because nothing rate-limits guesses against a copied file;
- not a commonly used or expected value: not on a small blocklist of passwords and words tied
  to this product, and not a single repeated character or a plain run (`123456789012`, `abcdef…`);
- no composition rules (SP 800-63B advises against them).

`check_passphrase` raises `UsageError` naming the rule; it never echoes the passphrase.
"""

from __future__ import annotations

import string

from sumun.crypto.kdf import normalise_passphrase
from sumun.errors import UsageError

__all__ = ["MIN_CHARACTERS", "check_passphrase"]

MIN_CHARACTERS = 12

# The commonest passwords in public breach corpora, and words an attacker tries first here.
_BLOCKLIST = frozenset(
    {
        "password",
        "passphrase",
        "qwerty",
        "qwertyuiop",
        "letmein",
        "iloveyou",
        "admin",
        "administrator",
        "welcome",
        "changeme",
        "secret",
        "sumun",
        "수문",
        "비밀번호",
        "패스워드",
        "master key",
        "masterkey",
        "correct horse battery staple",
    }
)
_RUNS = (string.digits * 3, string.ascii_lowercase * 2, "qwertyuiopasdfghjklzxcvbnm")


def _trivial(text: str) -> bool:
    folded = text.lower()
    compact = folded.replace(" ", "")
    if len(set(compact)) <= 2:  # "aaaaaaaaaaaa", "abababababab"
        return True
    if any(compact in run or compact in run[::-1] for run in _RUNS):
        return True
    # A blocklisted word, repeated or padded with digits and punctuation, is still that word.
    core = compact.strip(string.digits + string.punctuation)
    return bool(core) and any(_repeats(core, word.replace(" ", "")) for word in _BLOCKLIST)


def _repeats(text: str, word: str) -> bool:
    return len(text) % len(word) == 0 and word * (len(text) // len(word)) == text


def check_passphrase(passphrase: str) -> None:
    text = normalise_passphrase(passphrase)
    if len(text) < MIN_CHARACTERS:
        raise UsageError(
            f"the passphrase must have at least {MIN_CHARACTERS} characters",
            advice="use several words; anyone holding a copy of the sealed record can guess "
            "offline",
        )
    if text.lower() in _BLOCKLIST or _trivial(text):
        raise UsageError(
            "the passphrase is a commonly used or easily guessed value",
            advice="use several unrelated words",
        )
