"""The strength shown when a passphrase is chosen: rough, conservative, never echoing it."""

from __future__ import annotations

import unicodedata

import pytest

from sumun.crypto.passphrase_policy import Strength, estimate_strength


@pytest.mark.parametrize(
    ("passphrase", "rating"),
    [
        ("x", "weak"),
        ("password1234", "weak"),  # refused by the policy: weak whatever it scores
        ("aaaaaaaaaaaaaaaa", "weak"),
        ("abcdefghijklmnop", "weak"),
        ("violet violet violet violet", "weak"),  # allowed, but one word said four times
        ("Tr0ub4dor&3xyz", "weak"),
        ("violet tram seven oceans", "fair"),
        ("kim's 3 orange kites", "fair"),
        ("바다 위의 작은 등대 2026", "fair"),
        ("violet tram seven oceans under glass", "strong"),
        ("바다 위의 작은 등대와 푸른 고래", "strong"),
    ],
)
def test_ratings(passphrase: str, rating: str) -> None:
    assert estimate_strength(passphrase).rating == rating


def test_known_answers_of_the_sp800_63_1_appendix_a_count() -> None:
    # 24 keystrokes, none repeated or in a run: 4 + 7·2 + 12·1.5 + 4·1 = 40; two kinds only.
    assert estimate_strength("violet tram seven oceans") == Strength(40, "fair")
    # 20 keystrokes (4 + 14 + 18 = 36) and four kinds of character: + 6.
    assert estimate_strength("kim's 3 orange kites") == Strength(42, "fair")


def test_what_a_guesser_gets_for_free_counts_for_little() -> None:
    base = estimate_strength("violet tram seven oceans").bits
    assert estimate_strength("violet tram seven oceans" + "!" * 8).bits == base + 1
    run = estimate_strength("violet tram seven oceans 12345678").bits
    assert run == base + 3 + 6  # space, "1", "2" (the rest continue the run); a third kind
    assert estimate_strength("violet tram seven oceans 19375824").bits == base + 9 + 6
    assert estimate_strength("violet tram secret oceans").bits < base
    assert estimate_strength("violet tram seven oceans tram").bits == base + 1


def test_more_words_are_stronger() -> None:
    words = ["violet", "tram", "seven", "oceans", "under", "glass", "north"]
    bits = [estimate_strength(" ".join(words[:n])).bits for n in range(3, len(words) + 1)]
    assert bits == sorted(bits) and len(set(bits)) == len(bits)


def test_hangul_counts_the_same_composed_or_decomposed() -> None:
    composed = "바다 위의 작은 등대 2026"
    decomposed = unicodedata.normalize("NFD", composed)
    assert estimate_strength(composed) == estimate_strength(decomposed)


def test_any_text_gets_an_answer_that_never_echoes_it() -> None:
    for text in ("", "   ", "\x00\x01", "🙂" * 20, "violet tram seven oceans"):
        shown = str(estimate_strength(text))
        assert text.strip() == "" or text not in shown
        assert shown.split(maxsplit=1)[0] in {"weak", "fair", "strong"} and "bits" in shown
