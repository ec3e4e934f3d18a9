"""The key side of XKS on a real deployment: a SUMUN_HOME initialised on a real backend, and
"processes" that each open it with their own KeyService, XKS snapshot and keyring — so a
ciphertext made by one is decrypted by another, and a change made by one is seen by the other
only through the stores, as between real processes.

`keyring_cases` is the story every backend test runs (embedded, PKCS#11, OpenBao).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sumun.config import OpenBaoConfig, Settings
from sumun.keys.events import MemoryEventSink
from sumun.keys.service import KeyService
from sumun.store.control import open_control
from sumun.store.xks import XksLive, XksStore
from sumun.xks.errors import XksError
from sumun.xks.keyring import SumunKeyring
from sumun.xks.model import Encrypted
from sumun.xks.service import ServiceKeyLayer, XksManager
from tests.keys.conftest import make_settings

__all__ = [
    "SUMUN",
    "Deployment",
    "Node",
    "await_",
    "backend_settings",
    "deployment",
    "make_deployment",
    "within",
]

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
KEYSTORE = "bank"
_T = TypeVar("_T")


def await_(coro: Coroutine[Any, Any, _T]) -> _T:
    return asyncio.run(coro)


def within(seconds: float, check: Callable[[], bool], *, step: float = 0.02) -> float:
    """Poll `check` until true; the seconds it took. Fails after `seconds`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > seconds:
            pytest.fail(f"not within {seconds} s")
        time.sleep(step)
    return time.monotonic() - start


@dataclass
class Node:
    """One process's view: its own key service (caches), XKS snapshot and keyring."""

    keys: KeyService
    live: XksLive
    keyring: SumunKeyring
    recorded: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def manager(self) -> XksManager:
        def record(action: str, attrs: dict[str, str]) -> int:
            self.recorded.append((action, attrs))
            return len(self.recorded)

        return XksManager(
            XksStore(open_control(self.keys.settings).database()),
            ServiceKeyLayer(self.keys, "test@xks"),
            record,
        )

    def close(self) -> None:
        self.keys.seal()
        self.live.close()


@dataclass
class Deployment:
    settings: Settings
    shares: tuple[str, ...]
    events: MemoryEventSink
    nodes: list[Node] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return self.settings.home

    def node(self) -> Node:
        keys = KeyService(self.settings, events=self.events)
        keys.unseal(shares=self.shares[:3], actor="test")
        control = open_control(self.settings)
        live = XksLive(XksStore(control.database()))
        watcher = control.watcher(control.database())  # as on a node: changes within 1 s
        live.follow(watcher)
        live.owns(watcher)
        watcher.start()
        made = Node(keys, live, SumunKeyring(keys, live))
        self.nodes.append(made)
        return made

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The real `sumun` command on this home, in a process of its own."""
        env = {**os.environ, "SUMUN_HOME": str(self.home), "COLUMNS": "200"}
        env.pop("SUMUN_CONFIG", None)
        return subprocess.run(
            [*SUMUN, *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    def share_args(self) -> list[str]:
        return [arg for share in self.shares[:3] for arg in ("--share", share)]

    # -- another process -------------------------------------------------------------------------
    # PKCS#11 allows one login per token per process, so there "elsewhere" is a real process;
    # on the other backends a second in-process node (its own caches and snapshot) is enough.

    def _subprocess(self, job: dict[str, Any]) -> dict[str, Any]:
        body = {**job, "settings": self.settings.model_dump_json(), "shares": self.shares[:3]}
        done = subprocess.run(
            [sys.executable, "-c", _OTHER],
            input=json.dumps(body),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def change_elsewhere(self, action: str, key: str) -> None:
        """`disable`, `enable`, `rotate` or `destroy` (now, with a quorum) from elsewhere."""
        if self.settings.keys.backend == "pkcs11":
            self._subprocess({"do": action, "key": key})
            return
        other = self.node()
        lifecycle = other.keys.lifecycle
        if action == "destroy":
            lifecycle.destroy_now(key, actor="ops", shares=self.shares[:3])
        else:
            getattr(lifecycle, action)(key, actor="ops")
        other.close()
        self.nodes.remove(other)

    def decrypt_elsewhere(self, key: str, sealed: Encrypted, aad: bytes | None) -> bytes | str:
        """Decrypt in another process: the plaintext, or the error's class name."""
        if self.settings.keys.backend == "pkcs11":
            job = {
                "do": "decrypt",
                "key": key,
                "keystore": KEYSTORE,
                "aad": None if aad is None else base64.b64encode(aad).decode(),
                **{k: base64.b64encode(getattr(sealed, k)).decode() for k in _SEALED},
            }
            out = self._subprocess(job)
            return base64.b64decode(out["plaintext"]) if "plaintext" in out else out["error"]
        other = self.node()
        try:
            return await_(other.keyring.decrypt(KEYSTORE, key, sealed, aad))
        except XksError as exc:
            return type(exc).__name__
        finally:
            other.close()
            self.nodes.remove(other)


_SEALED = ("ciphertext", "iv", "tag", "metadata")
_OTHER = """
import asyncio, base64, json, sys
from sumun.config import Settings
from sumun.keys.events import MemoryEventSink
from sumun.keys.service import KeyService
from sumun.store.control import open_control
from sumun.store.xks import XksLive, XksStore
from sumun.xks.errors import XksError
from sumun.xks.errors import XksError
from sumun.xks.keyring import SumunKeyring
from sumun.xks.model import Encrypted
from sumun.xks.model import Encrypted

job = json.loads(sys.stdin.read())
settings = Settings.model_validate_json(job["settings"])
keys = KeyService(settings, events=MemoryEventSink())
keys.unseal(shares=job["shares"], actor="other")
out = {}
try:
    if job["do"] == "decrypt":
        ring = SumunKeyring(keys, XksLive(XksStore(open_control(settings).database())))
        parts = ("ciphertext", "iv", "tag", "metadata")
        sealed = Encrypted(*(base64.b64decode(job[k]) for k in parts))
        aad = None if job["aad"] is None else base64.b64decode(job["aad"])
        try:
            plain = asyncio.run(ring.decrypt(job["keystore"], job["key"], sealed, aad))
            out = {"plaintext": base64.b64encode(plain).decode()}
        except XksError as exc:
            out = {"error": type(exc).__name__}
    elif job["do"] == "destroy":
        keys.lifecycle.destroy_now(job["key"], actor="ops", shares=job["shares"])
    else:
        getattr(keys.lifecycle, job["do"])(job["key"], actor="ops")
finally:
    keys.seal()
print(json.dumps(out))
"""


def backend_settings(
    kind: str, request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    if kind == "embedded":
        return make_settings(home, backend="embedded")
    if kind == "pkcs11":
        token = request.getfixturevalue("softhsm_token")
        monkeypatch.setenv("SUMUN_PKCS11_PIN", token.pin)
        return make_settings(home, backend="pkcs11", pkcs11=token.config())
    server = request.getfixturevalue("openbao_server")
    monkeypatch.setenv("SUMUN_OPENBAO_TOKEN", server.token)
    bao = OpenBaoConfig(address=server.address, key_prefix=f"xks-{secrets.token_hex(4)}-")
    return make_settings(home, backend="openbao", openbao=bao)


@pytest.fixture
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    """A deployment on the backend named by the test module's `BACKEND`, with keystore
    "bank" (prefix /bank) created; `node()` opens a process's view of it."""
    kind = getattr(request.module, "BACKEND", "embedded")
    settings = backend_settings(kind, request, tmp_path / "home", monkeypatch)
    with make_deployment(settings) as made:
        yield made


@contextmanager
def make_deployment(settings: Settings) -> Iterator[Deployment]:
    events = MemoryEventSink()
    first = KeyService(settings, events=events)
    result = first.initialise(custodians=5, threshold=3, actor="test")
    result.master_key.wipe()
    made = Deployment(settings, result.shares, events)
    node = made.node()
    node.manager().create_keystore(KEYSTORE, "/bank")
    node.live.reload()
    try:
        yield made
    finally:
        for each in made.nodes:
            each.close()


# -- the story every backend runs ---------------------------------------------------------------
# Imported by test_keyring_<backend>.py (their `BACKEND` picks the deployment's backend).

SIZES = (0, 1, 32, 4300)


def _key(node: Node, name: str = "ebs", usage: str = "both") -> str:
    key_id = f"{name}-{secrets.token_hex(3)}"  # the session's token keeps every test's keys
    node.manager().create_key(KEYSTORE, key_id, usage)
    node.live.reload()
    return key_id


def test_encrypt_on_one_node_decrypt_on_another(deployment: Deployment) -> None:
    from sumun.xks.model import MAX_AAD_BYTES

    one = deployment.nodes[0]
    key = _key(one)
    aad = os.urandom(MAX_AAD_BYTES)
    for size in SIZES:
        plaintext = os.urandom(size)
        sealed = await_(one.keyring.encrypt(KEYSTORE, key, plaintext, aad))
        assert len(sealed.ciphertext) == size and len(sealed.iv) == 12 and len(sealed.tag) == 16
        assert sealed.metadata == b"\x01\x00\x00\x00\x01"
        assert plaintext == b"" or plaintext not in sealed.ciphertext
        assert await_(one.keyring.decrypt(KEYSTORE, key, sealed, aad)) == plaintext
        assert deployment.decrypt_elsewhere(key, sealed, aad) == plaintext
    meta = await_(one.keyring.metadata(KEYSTORE, key))
    assert meta.enabled and meta.backend == deployment.settings.keys.backend
    assert meta.usage.spec_values() == ["ENCRYPT", "DECRYPT"]


def test_aad_length_rule_and_tampering_fail_as_invalid_ciphertext(deployment: Deployment) -> None:
    from dataclasses import replace

    from sumun.xks.errors import InvalidCiphertextError

    node = deployment.nodes[0]
    key = _key(node)
    sealed = await_(node.keyring.encrypt(KEYSTORE, key, b"data key bytes" * 2, None))
    # A ciphertext made without AAD does not decrypt with its metadata passed as AAD.
    moved = replace(sealed, metadata=b"")
    with pytest.raises(InvalidCiphertextError):
        await_(node.keyring.decrypt(KEYSTORE, key, moved, sealed.metadata))
    with pytest.raises(InvalidCiphertextError):
        await_(node.keyring.decrypt(KEYSTORE, key, sealed, sealed.metadata))
    # An absent AAD counts as length 0 (the spec): the empty one is the same.
    assert await_(node.keyring.decrypt(KEYSTORE, key, sealed, b"")) == b"data key bytes" * 2

    def flip(raw: bytes) -> bytes:
        return bytes([raw[0] ^ 1]) + raw[1:]

    for tampered in (
        replace(sealed, iv=flip(sealed.iv)),
        replace(sealed, tag=flip(sealed.tag)),
        replace(sealed, ciphertext=flip(sealed.ciphertext)),
        replace(sealed, metadata=b"\x02" + sealed.metadata[1:]),
        replace(sealed, metadata=sealed.metadata[:-1] + b"\x07"),
        replace(sealed, iv=os.urandom(16)),
        replace(sealed, tag=sealed.tag[:12]),
    ):
        with pytest.raises(InvalidCiphertextError):
            await_(node.keyring.decrypt(KEYSTORE, key, tampered, None))
    with pytest.raises(InvalidCiphertextError):
        await_(node.keyring.decrypt(KEYSTORE, key, sealed, b"other"))
    assert await_(node.keyring.decrypt(KEYSTORE, key, sealed, None)) == b"data key bytes" * 2


def test_rotation_keeps_old_ciphertexts_and_metadata_names_the_version(
    deployment: Deployment,
) -> None:
    from dataclasses import replace

    from sumun.xks.errors import InvalidCiphertextError

    one = deployment.nodes[0]
    key = _key(one)
    old = await_(one.keyring.encrypt(KEYSTORE, key, b"v1 data", b"ctx"))
    deployment.change_elsewhere("rotate", key)  # like `sumun keys rotate` in another process
    v2 = (2).to_bytes(4, "big")
    within(1.0, lambda: await_(one.keyring.encrypt(KEYSTORE, key, b"-", b"ctx")).metadata[1:] == v2)
    new = await_(one.keyring.encrypt(KEYSTORE, key, b"v2 data", b"ctx"))
    assert (old.metadata[1:], new.metadata[1:]) == ((1).to_bytes(4, "big"), v2)
    assert await_(one.keyring.decrypt(KEYSTORE, key, old, b"ctx")) == b"v1 data"
    assert deployment.decrypt_elsewhere(key, old, b"ctx") == b"v1 data"
    assert deployment.decrypt_elsewhere(key, new, b"ctx") == b"v2 data"
    with pytest.raises(InvalidCiphertextError):  # the v1 ciphertext claiming v2
        await_(one.keyring.decrypt(KEYSTORE, key, replace(old, metadata=new.metadata), b"ctx"))


def _refused(node: Node, key: str, sealed: Encrypted) -> Callable[[], bool]:
    from sumun.xks.errors import InvalidStateError

    def check() -> bool:
        try:
            await_(node.keyring.decrypt(KEYSTORE, key, sealed, None))
        except InvalidStateError:
            return True
        return False

    return check


def test_disable_elsewhere_stops_both_operations_within_the_bound(
    deployment: Deployment,
) -> None:
    from sumun.xks.errors import InvalidStateError

    serving = deployment.nodes[0]
    key = _key(serving)
    sealed = await_(serving.keyring.encrypt(KEYSTORE, key, b"secret", None))
    deployment.change_elsewhere("disable", key)  # another process, its own caches
    refused = _refused(serving, key, sealed)
    assert within(1.0, refused) <= 1.0
    with pytest.raises(InvalidStateError, match="disabled"):
        await_(serving.keyring.encrypt(KEYSTORE, key, b"x", None))
    assert not await_(serving.keyring.metadata(KEYSTORE, key)).enabled
    assert deployment.decrypt_elsewhere(key, sealed, None) == "InvalidStateError"
    deployment.change_elsewhere("enable", key)
    within(1.0, lambda: not refused())
    assert await_(serving.keyring.decrypt(KEYSTORE, key, sealed, None)) == b"secret"


def test_destroy_makes_the_data_unreadable_for_good(deployment: Deployment) -> None:
    from sumun.errors import KeyLayerError
    from sumun.xks.errors import InvalidStateError
    from sumun.xks.keyring import join_blob
    from sumun.xks.model import aes_gcm_aad

    serving = deployment.nodes[0]
    key = _key(serving)
    sealed = await_(serving.keyring.encrypt(KEYSTORE, key, b"customer data key", None))
    deployment.change_elsewhere("destroy", key)
    within(1.0, _refused(serving, key, sealed))
    within(1.0, lambda: not await_(serving.keyring.metadata(KEYSTORE, key)).enabled)
    with pytest.raises(InvalidStateError, match="destroyed"):
        await_(serving.keyring.encrypt(KEYSTORE, key, b"x", None))
    assert deployment.decrypt_elsewhere(key, sealed, None) == "InvalidStateError"  # cold caches
    # Below the registry too: the backend no longer holds the material (a fresh process; a
    # running one may still hold a cipher in memory until it seals, but its registry refuses).
    serving.close()
    deployment.nodes.remove(serving)
    backend = deployment.node().keys.backend
    blob = join_blob(backend.name, 1, sealed.iv, sealed.ciphertext, sealed.tag)
    with pytest.raises(KeyLayerError):
        backend.unwrap(key, 1, blob, aes_gcm_aad(None, sealed.metadata))


def test_sealed_sumun_answers_invalid_state(deployment: Deployment) -> None:
    from sumun.xks.errors import InvalidStateError

    node = deployment.nodes[0]
    key = _key(node)
    sealed = await_(node.keyring.encrypt(KEYSTORE, key, b"x", None))
    node.keys.seal(actor="test")
    for call in (
        node.keyring.encrypt(KEYSTORE, key, b"x", None),
        node.keyring.decrypt(KEYSTORE, key, sealed, None),
        node.keyring.metadata(KEYSTORE, key),
        node.keyring.health(),
    ):
        with pytest.raises(InvalidStateError, match="sealed"):
            await_(call)


def test_key_usage_and_keystore_binding(deployment: Deployment) -> None:
    from sumun.xks.errors import InvalidKeyUsageError, KeyNotFoundError

    node = deployment.nodes[0]
    node.manager().create_keystore("other", "/other")
    enc, dec, none = (_key(node, f"k-{u}", u) for u in ("encrypt", "decrypt", "none"))
    both = _key(node, "k-both", "both")
    sealed = await_(node.keyring.encrypt(KEYSTORE, enc, b"x", None))
    with pytest.raises(InvalidKeyUsageError):
        await_(node.keyring.decrypt(KEYSTORE, enc, sealed, None))
    with pytest.raises(InvalidKeyUsageError):
        await_(node.keyring.encrypt(KEYSTORE, dec, b"x", None))
    with pytest.raises(InvalidKeyUsageError):
        await_(node.keyring.encrypt(KEYSTORE, none, b"x", None))
    assert await_(node.keyring.metadata(KEYSTORE, none)).usage.spec_values() == []
    assert await_(node.keyring.metadata(KEYSTORE, dec)).usage.spec_values() == ["DECRYPT"]
    for keystore, key in (("other", both), (KEYSTORE, "no-such-key"), (KEYSTORE, "sumun-ledger")):
        with pytest.raises(KeyNotFoundError):
            await_(node.keyring.encrypt(keystore, key, b"x", None))
        with pytest.raises(KeyNotFoundError):
            await_(node.keyring.metadata(keystore, key))


def test_deep_health_uses_its_own_test_key(deployment: Deployment) -> None:
    from sumun.xks.keyring import HEALTH_KEY

    node = deployment.nodes[0]
    health = await_(node.keyring.health())
    assert health.status == "ACTIVE" and len(health.fleet) == 1
    assert health.fleet[0]["healthStatus"] == "ACTIVE"
    assert deployment.settings.keys.backend in health.ekm_vendor
    assert node.keys.get_key(HEALTH_KEY) is not None  # created on first use, a key of its own
    assert await_(node.keyring.health()) is health  # cached (the spec allows a minute)


COMMON = [
    "test_aad_length_rule_and_tampering_fail_as_invalid_ciphertext",
    "test_deep_health_uses_its_own_test_key",
    "test_destroy_makes_the_data_unreadable_for_good",
    "test_disable_elsewhere_stops_both_operations_within_the_bound",
    "test_encrypt_on_one_node_decrypt_on_another",
    "test_key_usage_and_keystore_binding",
    "test_rotation_keeps_old_ciphertexts_and_metadata_names_the_version",
    "test_sealed_sumun_answers_invalid_state",
]
