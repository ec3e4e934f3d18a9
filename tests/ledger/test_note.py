"""Signed notes and checkpoints against published vectors, and every way a note can be wrong.

Known answers:
  * golang.org/x/mod sumdb/note (note.go package doc, note_test.go TestSign/TestOpen): the
    PeterNeumann / EnochRoot keys, the signer key, and the signed note it produces.
  * The C2SP signed-note worked example (example.com/foo), as quoted by several
    implementations from C2SP/C2SP signed-note.md at commit d4c16da5.
  * transparency-dev/formats note/note_verifier_test.go: real ECDSA (type 0x02) checkpoints of
    the Sigstore Rekor log and the Pixel 6 transparency log.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sumun.ledger.merkle import VerificationError
from sumun.ledger.note import (
    ALG_ECDSA,
    ALG_ED25519,
    MAX_SIGNATURES,
    Checkpoint,
    EcdsaP256Signer,
    Ed25519Signer,
    Verifier,
    open_checkpoint,
    open_note,
    sign_note,
    verify_checkpoint,
)

# -- golang.org/x/mod/sumdb/note -------------------------------------------------------------
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngo"
    "tpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnW"
    "Lox33WWd1RvMc+QQ=\n"
)

# -- C2SP signed-note example ----------------------------------------------------------------
EXAMPLE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
EXAMPLE_NOTE = (
    "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2"
    "ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

# -- transparency-dev/formats note/note_verifier_test.go (ECDSA, type 0x02) -------------------
REKOR_VKEY = (
    "rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvX"
    "wBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc="
)
REKOR_NOTE = (
    "Rekor\n798034\nf+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=\n\n— rekor.sigstore.dev wNI9"
    "ajBEAiARInWIWyCdyG27CO6LPnPekyw20qO0YJfoaPaowGp/XgIgc+qEHS3+GKVClgqq20uDLet7MCoTURUCRdxw"
    "WBHHufk=\n"
)
PIXEL_VKEY = (
    "pixel6_transparency_log+91c16e30+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABN+4x0Jk1yTwvLFI9A4N"
    "DdGZcX0aiWVdWM5XJVy0M4VWD3AvyW5Q6Hs9A0mcDkpUoYgn+KKPNzFC0H3nN3q6JQ8="
)
PIXEL_NOTE = (
    "DEFAULT\n10\nbsWRucJU5xJPHb5eBdOm6+DM+VelCZBuvtI3sHERJ9Y=\n\n— pixel6_transparency_log kc"
    "FuMDBFAiEAhqMAP8P6qf6QxtUJhzMhbN+MbZ9dwfUHzGQJmffJHtoCIGD0cNe47dHWBoPwYdgBCepB06/+g5O1Fm"
    "YjXl06owL4\n"
)

PETER = Verifier.from_vkey(PETER_VKEY)
ENOCH = Verifier.from_vkey(ENOCH_VKEY)


def peter_signer() -> Ed25519Signer:
    # golang.org/x/mod signer keys: PRIVATE+KEY+<name>+<id>+base64(0x01 ‖ 32-byte seed).
    material = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert material[0] == ALG_ED25519
    return Ed25519Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(material[1:]))


# -- known answers ---------------------------------------------------------------------------


def test_go_sumdb_note_vector_opens() -> None:
    assert open_note(TEXT + "\n" + PETER_SIG, [PETER]) == (TEXT, ("PeterNeumann",))


def test_our_ed25519_signer_reproduces_the_go_vector() -> None:
    signer = peter_signer()
    assert signer.key_id == 0xC74F20A3
    assert signer.vkey() == PETER_VKEY
    assert sign_note(TEXT, [signer]) == TEXT + "\n" + PETER_SIG


def test_go_two_signatures_one_known_and_both_known() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [PETER]) == (TEXT, ("PeterNeumann",))
    assert open_note(note, [PETER, ENOCH]) == (TEXT, ("PeterNeumann", "EnochRoot"))
    assert open_note(note.encode(), [ENOCH])[1] == ("EnochRoot",)


def test_c2sp_signed_note_example() -> None:
    verifier = Verifier.from_vkey(EXAMPLE_VKEY)
    assert verifier.key_id == 0x530D903A
    assert verifier.vkey() == EXAMPLE_VKEY
    assert open_note(EXAMPLE_NOTE, [verifier]) == (
        "This is an example message.\n",
        ("example.com/foo",),
    )


@pytest.mark.parametrize(
    ("vkey", "note", "origin", "size"),
    [(REKOR_VKEY, REKOR_NOTE, "Rekor", 798034), (PIXEL_VKEY, PIXEL_NOTE, "DEFAULT", 10)],
)
def test_real_ecdsa_checkpoints(vkey: str, note: str, origin: str, size: int) -> None:
    verifier = Verifier.from_vkey(vkey)
    assert verifier.alg == ALG_ECDSA
    # signed-note 0x02: key ID = SHA-256(SPKI DER)[:4], no name or type byte.
    assert verifier.key_id == int.from_bytes(hashlib.sha256(verifier.public_key).digest()[:4])
    assert verifier.vkey() == vkey
    checkpoint = verify_checkpoint(note, [verifier], origin=origin)
    assert (checkpoint.origin, checkpoint.size) == (origin, size)
    forged = note.replace(f"\n{size}\n", f"\n{size + 1}\n")
    with pytest.raises(VerificationError, match="invalid signature"):
        verify_checkpoint(forged, [verifier])


# -- vkeys -----------------------------------------------------------------------------------


def test_every_mangling_of_a_vkey_is_refused() -> None:
    # As golang.org/x/mod's TestNewVerifier: every proper substring and every +1 byte change.
    raw = PETER_VKEY.encode()
    for i in range(len(raw) + 1):
        for j in range(i + 1, len(raw) + 1):
            if (i, j) == (0, len(raw)):
                continue
            with pytest.raises(ValueError):
                Verifier.from_vkey(raw[i:j].decode())
    for i in range(len(raw)):
        mangled = bytearray(raw)
        mangled[i] += 1
        with pytest.raises(ValueError):
            Verifier.from_vkey(mangled.decode())


@pytest.mark.parametrize(
    ("vkey", "match"),
    [
        ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", "32 bytes"),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "unknown"),
        ("rekor.sigstore.dev+00000000+" + REKOR_VKEY.split("+", 2)[2], "does not match"),
        ("rekor.sigstore.dev+12345678+AwEB", "unknown"),
        ("PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 hex"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "spaces"),
        ("PeterNeumann+c74f20a3+THIS_IS_NOT_BASE64!", "base64"),
        ("PeterNeumann+c74f20a3", "<name>"),
    ],
)
def test_bad_vkeys(vkey: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Verifier.from_vkey(vkey)


def test_ecdsa_vkey_must_be_p256() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_id = int.from_bytes(hashlib.sha256(der).digest()[:4])
    with pytest.raises(ValueError, match="P-256"):
        Verifier("log.example", key_id, ALG_ECDSA, der)
    with pytest.raises(ValueError, match="P-256"):
        EcdsaP256Signer("log.example", key)


# -- signing ---------------------------------------------------------------------------------


def test_ecdsa_round_trip_and_mixed_signers() -> None:
    ecdsa = EcdsaP256Signer("log.example/kcmvp", ec.generate_private_key(ec.SECP256R1()))
    ed = Ed25519Signer("log.example", Ed25519PrivateKey.generate())
    assert ecdsa.vkey().split("+")[1] == f"{ecdsa.key_id:08x}"
    note = sign_note("hello\n", [ed, ecdsa])
    assert open_note(note, [Verifier.from_vkey(ecdsa.vkey())]) == (
        "hello\n",
        ("log.example/kcmvp",),
    )
    assert open_note(note, [ed.verifier(), ecdsa.verifier()])[1] == (
        "log.example",
        "log.example/kcmvp",
    )
    # ECDSA signatures are randomized; both verify.
    assert sign_note("hello\n", [ecdsa]) != sign_note("hello\n", [ecdsa])


def test_private_keys_stay_out_of_repr() -> None:
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    signer = Ed25519Signer("log.example", key)
    for text in (repr(signer), str(signer)):
        assert seed.hex() not in text
        assert base64.b64encode(seed).decode() not in text
        assert text == f"<Ed25519Signer log.example+{signer.key_id:08x}>"
    assert "EcdsaP256Signer" in repr(
        EcdsaP256Signer("log.example", ec.generate_private_key(ec.SECP256R1()))
    )


@pytest.mark.parametrize(
    ("body", "match"),
    [("no newline", "end with a newline"), ("bell\x07\n", "control"), ("tab\tx\n", "control")],
)
def test_sign_refuses_bad_text(body: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sign_note(body, [peter_signer()])


def test_sign_refuses_misuse() -> None:
    with pytest.raises(ValueError, match="at least one signer"):
        sign_note(TEXT, [])
    with pytest.raises(ValueError, match="share the key"):
        sign_note(TEXT, [peter_signer(), peter_signer()])
    with pytest.raises(ValueError, match="spaces"):
        Ed25519Signer("bad name", Ed25519PrivateKey.generate())
    with pytest.raises(ValueError, match="'\\+'"):
        Ed25519Signer("a+b", Ed25519PrivateKey.generate())
    with pytest.raises(TypeError):
        Ed25519Signer("log.example", ec.generate_private_key(ec.SECP256R1()))  # type: ignore[arg-type]


def test_body_may_hold_blank_lines() -> None:
    # signed-note §Format: the text is separated from the signatures by the *last* blank line.
    body = "first\n\nthird\n\n"
    note = sign_note(body, [peter_signer()])
    assert open_note(note, [PETER]) == (body, ("PeterNeumann",))


# -- opening: every refusal ------------------------------------------------------------------


def _tamper(note: str, old: str, new: str) -> str:
    assert old in note
    return note.replace(old, new, 1)


def test_edited_body_is_refused() -> None:
    note = TEXT + "\n" + PETER_SIG
    with pytest.raises(VerificationError, match="invalid signature for key PeterNeumann"):
        open_note(_tamper(note, "cryptography", "cryptographY"), [PETER])


def test_wrong_key_is_not_trusted() -> None:
    with pytest.raises(VerificationError, match="no valid signature by a known key"):
        open_note(TEXT + "\n" + PETER_SIG, [ENOCH])


def test_same_name_other_key_is_ignored_not_trusted() -> None:
    # signed-note §Signatures: a key sharing only the name (or only the ID) is unknown.
    impostor = Ed25519Signer("PeterNeumann", Ed25519PrivateKey.generate())
    forged = sign_note(TEXT, [impostor])
    with pytest.raises(VerificationError, match="no valid signature by a known key"):
        open_note(forged, [PETER])
    # ... and cannot spoil a note the real key signed.
    both = TEXT + "\n" + PETER_SIG + forged.split("\n\n")[1]
    assert open_note(both, [PETER])[1] == ("PeterNeumann",)


def test_known_key_with_bad_signature_rejects_the_whole_note() -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(VerificationError, match="invalid signature for key PeterNeumann"):
        open_note(TEXT + "\n" + bad, [PETER])
    # Even next to a good signature by the same key.
    with pytest.raises(VerificationError, match="invalid signature"):
        open_note(TEXT + "\n" + PETER_SIG + bad, [PETER])


def test_duplicate_signature_lines() -> None:
    # Identical repeats are tolerated (as in x/mod's TestOpen); the name is reported once.
    assert open_note(TEXT + "\n" + PETER_SIG * 3, [PETER]) == (TEXT, ("PeterNeumann",))
    # The cap applies to lines, known or not.
    with pytest.raises(VerificationError, match="malformed note: more than"):
        open_note(TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1), [PETER])
    # The spec's minimum: 16 signatures MUST be accepted.
    assert open_note(TEXT + "\n" + ENOCH_SIG * 15 + PETER_SIG, [PETER])[1] == ("PeterNeumann",)


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + "— Bad Name " + PETER_SIG.split(" ", 2)[2],
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG.replace("— ", "- "),
        TEXT + "\n" + PETER_SIG.replace("— ", "—"),
        TEXT + "\n" + "— PeterNeumann \n",
        TEXT + "\n" + "— PeterNeumann x08g\n",  # 3 bytes: not even a key ID and a signature
        TEXT + "\n" + "— PeterNeumann x08go/Z\n",  # missing padding
        TEXT + "\r\n" + PETER_SIG,
    ],
)
def test_malformed_notes(note: str) -> None:
    with pytest.raises(VerificationError, match="malformed note"):
        open_note(note, [PETER])


def test_invalid_utf8_is_malformed() -> None:
    with pytest.raises(VerificationError, match="UTF-8"):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [PETER])


def test_verifier_list_misuse() -> None:
    with pytest.raises(ValueError, match="no verifier keys"):
        open_note(TEXT + "\n" + PETER_SIG, [])
    other = Ed25519Signer("PeterNeumann", Ed25519PrivateKey.generate()).verifier()
    colliding = Verifier.__new__(Verifier)
    object.__setattr__(colliding, "name", "PeterNeumann")
    object.__setattr__(colliding, "key_id", PETER.key_id)
    object.__setattr__(colliding, "alg", ALG_ED25519)
    object.__setattr__(colliding, "public_key", other.public_key)
    with pytest.raises(ValueError, match="ambiguous key"):
        open_note(TEXT + "\n" + PETER_SIG, [PETER, colliding])
    # The same key twice (say, a duplicated line in verifier.key) is harmless.
    assert open_note(TEXT + "\n" + PETER_SIG, [PETER, Verifier.from_vkey(PETER_VKEY)])


# -- checkpoints -----------------------------------------------------------------------------

ROOT = bytes(range(32))


def test_checkpoint_body_round_trip() -> None:
    checkpoint = Checkpoint("example.com/log", 20852163, ROOT, ("ext one",))
    body = checkpoint.to_body()
    assert body == (f"example.com/log\n20852163\n{base64.b64encode(ROOT).decode()}\next one\n")
    assert Checkpoint.from_body(body) == checkpoint
    assert Checkpoint.from_body(Checkpoint("o", 0, ROOT).to_body()).size == 0


def test_tlog_checkpoint_spec_example_body_parses() -> None:
    # c2sp.org/tlog-checkpoint's example note text.
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = Checkpoint.from_body(body)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.to_body() == body


B64_ROOT = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (f"o\n1\n{B64_ROOT}", "end with a newline"),
        ("o\n1\n", "origin, size and root"),
        (f"\n1\n{B64_ROOT}\n", "empty"),
        (f"o\n01\n{B64_ROOT}\n", "canonical decimal"),
        (f"o\n-1\n{B64_ROOT}\n", "canonical decimal"),
        (f"o\n+1\n{B64_ROOT}\n", "canonical decimal"),
        (f"o\n1 \n{B64_ROOT}\n", "canonical decimal"),
        (f"o\n١\n{B64_ROOT}\n", "canonical decimal"),  # Arabic-Indic digit one
        (f"o\n{1 << 64}\n{B64_ROOT}\n", "2\\^64"),
        (f"o\n1\n{B64_ROOT[:-4]}\n", "32 bytes"),
        (f"o\n1\n{B64_ROOT.rstrip('=')}\n", "base64"),
        (f"o\n1\n{B64_ROOT[:-2]}B=\n", "canonical base64"),
        (f"o\n1\n{B64_ROOT}\n\n", "empty"),
        (f"o\n1\n{B64_ROOT}\next\n\nmore\n", "empty"),
    ],
)
def test_checkpoint_parsing_is_strict(body: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Checkpoint.from_body(body)


def test_checkpoint_constructor_refuses_bad_fields() -> None:
    with pytest.raises(ValueError, match="origin"):
        Checkpoint("", 1, ROOT)
    with pytest.raises(ValueError, match="origin"):
        Checkpoint("a\nb", 1, ROOT)
    with pytest.raises(ValueError, match="size"):
        Checkpoint("o", -1, ROOT)
    with pytest.raises(ValueError, match="root"):
        Checkpoint("o", 1, ROOT[:31])
    with pytest.raises(ValueError, match="extension"):
        Checkpoint("o", 1, ROOT, ("",))


def test_verify_checkpoint() -> None:
    signer = peter_signer()
    note = sign_note(Checkpoint("example.com/log", 5, ROOT).to_body(), [signer])
    assert verify_checkpoint(note, [PETER], origin="example.com/log").size == 5
    assert open_checkpoint(note, [PETER])[1] == ("PeterNeumann",)
    with pytest.raises(VerificationError, match=r"for origin 'example\.com/log'"):
        verify_checkpoint(note, [PETER], origin="example.com/other")
    with pytest.raises(VerificationError, match="malformed checkpoint"):
        verify_checkpoint(sign_note("just text\n", [signer]), [PETER])
    with pytest.raises(VerificationError, match="invalid signature"):
        verify_checkpoint(note.replace("\n5\n", "\n6\n"), [PETER])
