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

`estimate_strength` is what `sumun init` shows after the passphrase is typed: a rough, honest
guess, deliberately conservative, with no word list behind it (so it cannot know that
"violet" is a word and "vkqzpt" is not). It is the entropy estimate of NIST SP 800-63-1
Appendix A — the first character 4 bits, the next seven 2 bits each, the 9th to 20th 1.5 bits
each, every later one 1 bit, and 6 bits more for mixing at least three kinds of character —
counted over keystrokes rather than characters (a Hangul syllable is typed as its two or three
jamo), after taking away what a guesser gets for free: a character that repeats the previous
one or continues a run (`aaaa`, `1234`, `cba`), a whole phrase or a word repeated, and a
blocklisted word (each counted as one keystroke). SP 800-63-3 withdrew this estimate as a
*policy* because it says little about any one password; it is shown here only as a hint next
to the rules above. It underrates a truly random string (it cannot tell one from a keyboard
walk) and never overrates a short one: the safe direction for a key that guards everything.

Ratings assume the offline attack the rules are about: scrypt at Sumun's default cost is about
0.25 s per guess on one core, so even ten thousand cores try about 2^15 guesses a second.
Below 40 bits (months for them) is "weak"; 40 to 49 bits (centuries at that rate, if the
estimate holds) "fair"; 50 and more "strong". A passphrase the rules refuse is "weak" however
many bits it scores.
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass
from typing import Literal

from sumun.crypto.kdf import normalise_passphrase
from sumun.errors import UsageError

__all__ = ["MIN_CHARACTERS", "Strength", "check_passphrase", "estimate_strength"]

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


# --- strength estimate (see the module docstring) --------------------------------------------

_WEAK_BELOW = 40
_STRONG_FROM = 50
_MIXING_BONUS = 6


@dataclass(frozen=True, slots=True)
class Strength:
    bits: int
    rating: Literal["weak", "fair", "strong"]

    def __str__(self) -> str:
        return f"{self.rating} (about {self.bits} bits, a rough estimate)"


def estimate_strength(passphrase: str) -> Strength:
    """A rough strength estimate for display. Never raises for any text; never echoes it."""
    try:
        text = normalise_passphrase(passphrase)
    except UsageError:
        return Strength(0, "weak")
    bits = _estimated_bits(text)
    try:
        check_passphrase(text)
    except UsageError:
        return Strength(bits, "weak")
    rating: Literal["weak", "fair", "strong"] = (
        "weak" if bits < _WEAK_BELOW else "fair" if bits < _STRONG_FROM else "strong"
    )
    return Strength(bits, rating)


def _estimated_bits(text: str) -> int:
    lowered = text.lower()
    unit = _shortest_repeated_unit(lowered)
    free = 0
    for word in sorted(_BLOCKLIST, key=len, reverse=True):
        while word in unit:  # a word a guesser tries first costs them one keystroke
            unit = unit.replace(word, "\0", 1)
            free += 1
    words: list[str] = []
    for word in unit.replace("\0", "").split(" "):
        if word and word in words:
            free += 1  # a word said again: one keystroke ("the same as before")
        else:
            words.append(word)
    keystrokes = _keystrokes(" ".join(words))
    count = free + _informative(keystrokes)
    bits = 0.0
    for position in range(1, count + 1):
        bits += 4 if position == 1 else 2 if position <= 8 else 1.5 if position <= 20 else 1
    if len(_classes(text)) >= 3:
        bits += _MIXING_BONUS
    if unit != lowered:
        bits += 1  # the number of repetitions
    return int(bits)


def _shortest_repeated_unit(text: str) -> str:
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def _keystrokes(text: str) -> str:
    """Hangul syllables as the jamo they are typed with; every other character as itself."""
    return "".join(
        unicodedata.normalize("NFD", ch) if "\uac00" <= ch <= "\ud7a3" else ch for ch in text
    )


def _informative(keys: str) -> int:
    """Keystrokes left after dropping repeats of the previous one and steps of a run."""
    count = 0
    for i, ch in enumerate(keys):
        if i >= 1 and ch == keys[i - 1]:
            continue
        if i >= 2 and ord(ch) - ord(keys[i - 1]) == ord(keys[i - 1]) - ord(keys[i - 2]) in (1, -1):
            continue
        count += 1
    return count


def _classes(text: str) -> set[str]:
    kinds = set()
    for ch in text:
        if ch.isascii():
            kinds.add(
                "lower"
                if ch.islower()
                else "upper"
                if ch.isupper()
                else "digit"
                if ch.isdigit()
                else "symbol"
            )
        else:
            kinds.add("other letters" if ch.isalpha() else "symbol")
    return kinds
