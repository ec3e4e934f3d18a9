"""The OpenBao (or Vault) Transit backend: KEK material never leaves the server.

Each Sumun key id is one Transit key `<key_prefix><key_id>` of type aes256-gcm96, created
non-exportable and without plaintext backup. Sumun KEK version n is Transit key version n:

- `create_version(k, 1)` creates the key; `create_version(k, n)` rotates it and checks that
  OpenBao's `latest_version` is now n (the registry and OpenBao must never disagree silently).
- `wrap` is `encrypt` with `key_version=n` and the DEK as plaintext; `aad` goes in
  `associated_data`, which Transit (OpenBao 2.7) authenticates as GCM additional data for AEAD
  key types, so a wrapped DEK moved to another key id / scope fails to decrypt. The blob is
  Transit's own ciphertext string `vault:v<n>:<base64>` as UTF-8 bytes.
- `unwrap` is `decrypt`, after checking locally that the blob names version n: the registry
  decides which versions are usable, so a blob must not be able to pick another version.

What OpenBao can enforce server-side, and what only Sumun's registry enforces:

- Disabling: Transit can refuse decryption only below `min_decryption_version`, i.e. a disabled
  *prefix* of versions. `restrict` sets it to just above the longest run of disabled versions
  starting at the oldest available one (and lowers it again on enable). Any other disabled
  version — and the latest version even when every version is disabled, since Transit cannot
  set the floor above it — is refused by Sumun's registry only. Sumun keeps
  `min_encryption_version` equal to `min_decryption_version`, which Transit requires once the
  former is non-zero.
- Destroying: Transit can erase only the oldest versions (`trim`, i.e. `min_available_version`)
  and never the latest one. `destroy_versions` erases the longest prefix it can and raises
  `KeyStateError` naming the versions it could NOT erase (their material is still in OpenBao).
  `destroy_key` deletes the whole key. Erasure is as good as OpenBao's storage deletion:
  snapshots or backups of OpenBao's storage still hold the material.
- Encrypting to a missing key *creates* it ("upsert") unless the mount has
  `disable_upsert=true` or the token lacks `create` on `<mount>/encrypt/*`. Without one of
  those, a stale wrap after `destroy_key` would silently create a fresh key. `check()` logs a
  warning when it can see that upsert is enabled.

Least-privilege policy for Sumun's token (`<m>` = mount, `<p>` = key prefix; a trailing `*`
also covers `/config`, `/rotate` and `/trim`). Without `create` on encrypt, no upsert:

    path "<m>/keys/<p>*"     { capabilities = ["create", "read", "update", "delete"] }
    path "<m>/encrypt/<p>*"  { capabilities = ["update"] }
    path "<m>/decrypt/<p>*"  { capabilities = ["update"] }
    path "<m>/config/keys"   { capabilities = ["read"] }

Timeouts: every HTTP call is bounded by `timeout` per connect and per socket read (that is how
`requests` counts), so a server that stops answering fails in about `timeout` seconds; one that
dribbles bytes slower than that can take longer.

The token lives only inside the hvac client; it is never part of repr, str, logs or errors.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote, urlsplit

import hvac
import hvac.exceptions as hvac_exc
import requests

from sumun.config import OpenBaoConfig
from sumun.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    DecryptionError,
    KeyStateError,
    UnknownKeyError,
)
from sumun.keys.model import validate_key_id

__all__ = ["OpenBaoBackend"]

_log = logging.getLogger(__name__)

_T = TypeVar("_T")

_KEY_TYPE = "aes256-gcm96"
# Transit's ciphertext: "vault:v<version>:<standard base64>". Checked before any request so a
# malformed or foreign blob never reaches the server and fails like any other bad blob.
_BLOB = re.compile(r"^vault:v([1-9][0-9]{0,9}):[A-Za-z0-9+/]+={0,2}$")
# Transit key names are word characters, dots and dashes; the prefix must keep them so.
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]*$")
# The 400 answers from encrypt / decrypt that are about the key, not the ciphertext.
_KEY_GONE = "encryption key not found"
_TOO_NEW = "version is too new"
_TOO_OLD = "disallowed by policy"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _server_errors(exc: hvac_exc.VaultError) -> str:
    # OpenBao's own error strings: they name paths and versions, never tokens or plaintext.
    errors = getattr(exc, "errors", None) or []
    text = "; ".join(str(e) for e in errors) if isinstance(errors, list) else str(errors)
    return text[:300] or "no detail"


def _has_error(exc: hvac_exc.VaultError, needle: str) -> bool:
    errors = getattr(exc, "errors", None) or []
    return isinstance(errors, list) and any(needle in str(e) for e in errors)


def _data(response: object, what: str) -> dict[str, Any]:
    """The `data` object of a JSON answer; anything else means we are not talking to Transit."""
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, dict):
        raise BackendError(f"OpenBao gave an unexpected answer to {what}")
    return data


def _int_field(data: Mapping[str, Any], field: str) -> int:
    value = data.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BackendError(f"OpenBao key info lacks an integer {field!r}")
    return value


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenBaoBackend:
    """KEKs as Transit keys in OpenBao / Vault; wrap and unwrap happen on the server."""

    def __init__(self, config: OpenBaoConfig, token: str) -> None:
        parts = urlsplit(config.address)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(
                f"keys.openbao.address {config.address!r} is not an http(s) URL",
                advice="use e.g. https://openbao.internal:8200",
            )
        if parts.scheme == "http" and not _loopback(parts.hostname):
            # Wrapped and unwrapped DEKs and the token cross this connection (issue 19).
            raise ConfigError(
                f"keys.openbao.address {config.address!r} is plain http to another host: DEKs "
                "and the token would cross the network in the clear",
                advice="use https (keys.openbao.ca_cert_file to pin its CA); http is for "
                "loopback only",
            )
        if parts.username is not None or parts.password is not None:
            # The address shows up in status output and errors: no credentials in it.
            raise ConfigError(
                "keys.openbao.address must not contain credentials",
                advice=f"give the token in ${config.token_env} instead",
            )
        if not _PREFIX.match(config.key_prefix):
            raise ConfigError(
                f"keys.openbao.key_prefix {config.key_prefix!r} may use only A-Z a-z 0-9 _ . -"
            )
        if not token:
            raise ConfigError(
                "the OpenBao token is empty",
                advice=f"export the token in ${config.token_env}",
            )
        self._config = config
        self._address = config.address.rstrip("/")
        self._mount = config.mount.strip("/")
        self._timeout = config.timeout
        verify: bool | str = config.ca_cert_file or True  # pinned CA, else the system's
        self._client = hvac.Client(
            url=self._address, token=token, timeout=config.timeout, verify=verify
        )
        self._warned_upsert = False

    def __repr__(self) -> str:
        return f"<OpenBaoBackend {self._address} mount={self._mount!r}>"

    @property
    def name(self) -> str:
        return "openbao"

    def describe(self) -> Mapping[str, str]:
        return {
            "address": self._address,
            "mount": self._mount,
            "key_prefix": self._config.key_prefix,
        }

    def close(self) -> None:
        self._client.adapter.close()

    # -- transport boundary -------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], _T]) -> _T:
        """Run one hvac call; turn every transport / availability failure into our errors.

        400 (InvalidRequest) and a 404 for a missing key are re-raised for the caller, which
        knows what they mean for its operation.
        """
        try:
            return fn()
        except requests.Timeout as exc:
            raise BackendUnavailableError(
                f"OpenBao at {self._address} did not answer {what} within {self._timeout:g}s"
            ) from exc
        except requests.RequestException as exc:  # refused, reset, DNS, TLS, bad URL
            raise BackendUnavailableError(
                f"cannot reach OpenBao at {self._address} ({what}): {type(exc).__name__}"
            ) from exc
        except hvac_exc.VaultDown as exc:  # 503: sealed, or standby without an active node
            raise BackendUnavailableError(
                f"OpenBao at {self._address} is sealed or unavailable ({what})"
            ) from exc
        except (hvac_exc.Forbidden, hvac_exc.Unauthorized) as exc:
            raise BackendUnavailableError(
                f"OpenBao at {self._address} refused Sumun's token ({what}): permission denied",
                advice=(
                    f"check the token in ${self._config.token_env}: it must be valid, "
                    f"unexpired and allowed to use {self._mount}/ keys named "
                    f"{self._config.key_prefix}* (see the policy in sumun.keys.backends.openbao)"
                ),
            ) from exc
        except hvac_exc.InvalidPath as exc:
            if _has_error(exc, "no handler for route"):
                self._raise_no_mount(exc)
            raise
        except hvac_exc.InvalidRequest:
            raise
        except hvac_exc.ParamValidationError as exc:  # hvac refused our arguments locally
            raise BackendError(f"hvac refused the arguments of {what}: {exc}") from exc
        except hvac_exc.VaultError as exc:  # 5xx, 429, 412, 501 (not initialised), ...
            raise BackendUnavailableError(
                f"OpenBao at {self._address} failed {what}: {_server_errors(exc)}"
            ) from exc

    def _raise_no_mount(self, exc: Exception) -> NoReturn:
        raise BackendUnavailableError(
            f"no Transit secrets engine is mounted at {self._mount}/ on {self._address}",
            advice=f"run `bao secrets enable -path={self._mount} transit`",
        ) from exc

    def _key_name(self, key_id: str) -> str:
        return self._config.key_prefix + validate_key_id(key_id)

    def _read_key(self, key_id: str) -> dict[str, Any] | None:
        """Transit's key info, or None when OpenBao has no such key."""
        name = self._key_name(key_id)
        try:
            response = self._call(
                f"read of key {name!r}",
                lambda: self._client.secrets.transit.read_key(name, mount_point=self._mount),
            )
        except hvac_exc.InvalidPath:
            return None
        except hvac_exc.InvalidRequest as exc:
            raise BackendError(
                f"OpenBao refused to read key {name!r}: {_server_errors(exc)}"
            ) from exc
        return _data(response, f"the read of key {name!r}")

    def _require_key(self, key_id: str) -> dict[str, Any]:
        info = self._read_key(key_id)
        if info is None:
            raise UnknownKeyError(f"OpenBao has no key {self._key_name(key_id)!r}")
        return info

    def _refused_version(self, key_id: str, version: int, exc: Exception) -> NoReturn:
        """Transit refused a version as too old: destroyed (trimmed) or disabled?"""
        info = self._read_key(key_id)
        if info is None:
            raise UnknownKeyError(f"OpenBao has no key {self._key_name(key_id)!r}") from exc
        if version < _int_field(info, "min_available_version"):
            raise UnknownKeyError(
                f"key {key_id!r} version {version} was destroyed in OpenBao"
            ) from exc
        raise KeyStateError(
            f"OpenBao refuses key {key_id!r} version {version}: it is disabled there "
            f"(min_decryption_version {info.get('min_decryption_version')})"
        ) from exc

    def _set_floor(self, key_id: str, floor: int) -> None:
        # Transit requires min_encryption_version >= min_decryption_version when non-zero, and
        # neither may fall below min_available_version: keeping them equal satisfies both.
        # hvac's update_key_configuration refuses equal values client-side (it wants ">"),
        # which the server accepts: post the config directly.
        name = self._key_name(key_id)
        path = f"/v1/{quote(self._mount)}/keys/{quote(name, safe='')}/config"
        body = {"min_decryption_version": floor, "min_encryption_version": floor}
        try:
            self._call(
                f"config of key {name!r}",
                lambda: self._client.adapter.post(path, json=body),
            )
        except hvac_exc.InvalidRequest as exc:
            raise KeyStateError(
                f"OpenBao refused to set key {key_id!r}'s minimum version to {floor}: "
                f"{_server_errors(exc)}"
            ) from exc

    # -- KekBackend ---------------------------------------------------------------------------

    def check(self) -> None:
        health = self._call(
            "sys/health",
            # Ask for 200 in every state and read the flags, so sealed / uninitialised get a
            # precise message instead of a bare status code.
            lambda: self._client.sys.read_health_status(
                method="GET",
                standby_ok=True,
                sealed_code=200,
                uninit_code=200,
                performance_standby_code=200,
            ),
        )
        if not isinstance(health, dict):
            status = getattr(health, "status_code", "?")
            raise BackendUnavailableError(
                f"{self._address} answered sys/health with HTTP {status}: is it OpenBao?"
            )
        if not health.get("initialized", False):
            raise BackendUnavailableError(
                f"OpenBao at {self._address} is not initialised",
                advice="run `bao operator init` and unseal it",
            )
        if health.get("sealed", True):
            raise BackendUnavailableError(
                f"OpenBao at {self._address} is sealed",
                advice="unseal it (`bao operator unseal`); Sumun refuses traffic meanwhile",
            )
        # One authenticated read proves the token works and a Transit engine is at the mount.
        try:
            response = self._call(
                f"read of {self._mount}/config/keys",
                lambda: self._client.adapter.get(f"/v1/{quote(self._mount)}/config/keys"),
            )
        except hvac_exc.InvalidPath as exc:  # mounted, but not Transit
            self._raise_no_mount(exc)
        except hvac_exc.InvalidRequest as exc:
            raise BackendUnavailableError(
                f"OpenBao refused to read {self._mount}/config/keys: {_server_errors(exc)}"
            ) from exc
        config = _data(response, f"the read of {self._mount}/config/keys")
        if config.get("disable_upsert") is False and not self._warned_upsert:
            self._warned_upsert = True
            _log.warning(
                "Transit at %s/%s creates missing keys on encrypt: a wrap after a key's "
                "destruction would silently create a fresh key. Run `bao write "
                "%s/config/keys disable_upsert=true` or deny `create` on %s/encrypt/*.",
                self._address,
                self._mount,
                self._mount,
                self._mount,
            )

    def create_version(self, key_id: str, version: int) -> None:
        name = self._key_name(key_id)
        if version < 1:
            raise KeyStateError(f"key versions start at 1, not {version}")
        info = self._read_key(key_id)
        if version == 1:
            if info is not None:
                raise KeyStateError(f"key {name!r} already exists in OpenBao")
            try:
                self._call(
                    f"creation of key {name!r}",
                    lambda: self._client.secrets.transit.create_key(
                        name,
                        key_type=_KEY_TYPE,
                        exportable=False,
                        allow_plaintext_backup=False,
                        mount_point=self._mount,
                    ),
                )
            except hvac_exc.InvalidRequest as exc:
                raise KeyStateError(
                    f"OpenBao refused to create key {name!r}: {_server_errors(exc)}"
                ) from exc
            created = self._require_key(key_id)
            # Transit answers a create of an existing key with that key: make sure this one
            # is ours (fresh, the right type, never exportable).
            if (
                _int_field(created, "latest_version") != 1
                or created.get("type") != _KEY_TYPE
                or created.get("exportable") is not False
            ):
                raise KeyStateError(
                    f"key {name!r} in OpenBao is not a fresh non-exportable {_KEY_TYPE} key"
                )
            return
        if info is None:
            raise UnknownKeyError(f"OpenBao has no key {name!r} to rotate to version {version}")
        latest = _int_field(info, "latest_version")
        if latest != version - 1:
            raise KeyStateError(
                f"cannot create version {version} of key {key_id!r}: OpenBao's latest version "
                f"is {latest}, so the registry and OpenBao disagree"
            )
        try:
            response = self._call(
                f"rotation of key {name!r}",
                lambda: self._client.secrets.transit.rotate_key(name, mount_point=self._mount),
            )
        except hvac_exc.InvalidRequest as exc:
            raise KeyStateError(
                f"OpenBao refused to rotate key {name!r}: {_server_errors(exc)}"
            ) from exc
        # Older servers answer a rotation with 204 and no body: read the key back then.
        rotated = response.get("data") if isinstance(response, dict) else None
        if not isinstance(rotated, dict):
            rotated = self._require_key(key_id)
        now = _int_field(rotated, "latest_version")
        if now != version:
            raise KeyStateError(
                f"rotated key {key_id!r} to OpenBao version {now}, expected {version}: "
                "the registry and OpenBao disagree (a concurrent rotation?)"
            )

    def wrap(self, key_id: str, version: int, dek: bytes, aad: bytes) -> bytes:
        name = self._key_name(key_id)
        # key_version=0 would mean "latest" to Transit: never let a bad version pick one.
        if version < 1:
            raise UnknownKeyError(f"key {key_id!r} has no version {version}")
        try:
            response = self._call(
                f"encrypt with key {name!r}",
                lambda: self._client.secrets.transit.encrypt_data(
                    name,
                    plaintext=_b64(dek),
                    key_version=version,
                    associated_data=_b64(aad),
                    mount_point=self._mount,
                ),
            )
        except hvac_exc.InvalidRequest as exc:
            if _has_error(exc, _KEY_GONE):
                raise UnknownKeyError(f"OpenBao has no key {name!r}") from exc
            if _has_error(exc, "higher than the latest key version"):
                raise UnknownKeyError(
                    f"OpenBao has no version {version} of key {key_id!r}"
                ) from exc
            if _has_error(exc, "no such key version") or _has_error(exc, "minimum"):
                self._refused_version(key_id, version, exc)
            raise BackendError(
                f"OpenBao refused to encrypt with key {name!r}: {_server_errors(exc)}"
            ) from exc
        warnings = response.get("warnings") if isinstance(response, dict) else None
        if warnings and any("associated_data" in str(w) for w in warnings):
            # An old server ignoring the parameter would hand back a blob not bound to aad.
            raise BackendError(
                f"OpenBao at {self._address} ignored associated_data: it cannot bind aad"
            )
        ciphertext = _data(response, f"the encrypt with key {name!r}").get("ciphertext")
        if not isinstance(ciphertext, str) or not ciphertext.startswith(f"vault:v{version}:"):
            raise BackendError(f"OpenBao did not encrypt with version {version} of {name!r}")
        return ciphertext.encode("utf-8")

    def unwrap(self, key_id: str, version: int, blob: bytes, aad: bytes) -> bytes:
        name = self._key_name(key_id)
        try:
            ciphertext = blob.decode("ascii")
        except UnicodeDecodeError as exc:
            raise DecryptionError() from exc
        match = _BLOB.match(ciphertext)
        # The blob names its own version; it must be the one the registry vouched for.
        if match is None or int(match.group(1)) != version:
            raise DecryptionError()
        try:
            response = self._call(
                f"decrypt with key {name!r}",
                lambda: self._client.secrets.transit.decrypt_data(
                    name,
                    ciphertext=ciphertext,
                    associated_data=_b64(aad),
                    mount_point=self._mount,
                ),
            )
        except hvac_exc.InvalidRequest as exc:
            if _has_error(exc, _KEY_GONE):
                raise UnknownKeyError(f"OpenBao has no key {name!r}") from exc
            if _has_error(exc, _TOO_NEW):
                raise UnknownKeyError(
                    f"OpenBao has no version {version} of key {key_id!r}"
                ) from exc
            if _has_error(exc, _TOO_OLD):
                self._refused_version(key_id, version, exc)
            # Everything else is about the ciphertext or aad: one opaque error.
            raise DecryptionError() from exc
        plaintext = _data(response, f"the decrypt with key {name!r}").get("plaintext")
        try:
            if not isinstance(plaintext, str):
                raise ValueError("no plaintext")
            return base64.b64decode(plaintext, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise BackendError(f"OpenBao returned no usable plaintext for {name!r}") from exc

    def restrict(self, key_id: str, disabled_versions: frozenset[int], latest: int) -> None:
        info = self._require_key(key_id)
        server_latest = _int_field(info, "latest_version")
        if latest > server_latest:
            raise KeyStateError(
                f"the registry knows version {latest} of key {key_id!r} but OpenBao's latest "
                f"is {server_latest}: the registry and OpenBao disagree"
            )
        # Versions below min_available_version are gone: they count as part of the prefix.
        floor = max(_int_field(info, "min_available_version"), 1)
        while floor in disabled_versions:
            floor += 1
        # Transit cannot refuse its latest version: that one stays the registry's job.
        floor = min(floor, server_latest)
        current = (
            _int_field(info, "min_decryption_version"),
            _int_field(info, "min_encryption_version"),
        )
        if current != (floor, floor):
            self._set_floor(key_id, floor)

    def destroy_versions(self, key_id: str, versions: Sequence[int]) -> None:
        if not versions:
            return
        info = self._read_key(key_id)
        if info is None:  # the whole key is gone already
            return
        name = self._key_name(key_id)
        available = max(_int_field(info, "min_available_version"), 1)
        server_latest = _int_field(info, "latest_version")
        # Versions already trimmed, or never created in OpenBao, hold no material to erase.
        targets = {v for v in versions if available <= v <= server_latest}
        new_available = available
        while new_available in targets and new_available < server_latest:
            new_available += 1
        if new_available > available:
            # trim needs min_available <= min_decryption and <= min_encryption.
            floor = max(new_available, _int_field(info, "min_decryption_version"))
            self._set_floor(key_id, floor)
            try:
                self._call(
                    f"trim of key {name!r}",
                    lambda: self._client.secrets.transit.trim_key(
                        name, min_version=new_available, mount_point=self._mount
                    ),
                )
            except hvac_exc.InvalidRequest as exc:
                raise KeyStateError(
                    f"OpenBao refused to trim key {name!r} to version {new_available}: "
                    f"{_server_errors(exc)}"
                ) from exc
        left = sorted(v for v in targets if v >= new_available)
        if left:
            raise KeyStateError(
                f"OpenBao kept versions {left} of key {key_id!r}: Transit can erase only the "
                f"oldest versions and never the latest"
                + (f" (erased up to version {new_available - 1})" if new_available > 1 else ""),
                advice=(
                    "destroy the older versions first, rotate before destroying the latest, "
                    "or destroy the whole key"
                ),
            )

    def destroy_key(self, key_id: str) -> None:
        name = self._key_name(key_id)
        try:
            self._call(
                f"config of key {name!r}",
                lambda: self._client.secrets.transit.update_key_configuration(
                    name, deletion_allowed=True, mount_point=self._mount
                ),
            )
        except hvac_exc.InvalidRequest as exc:
            if _has_error(exc, "no existing key"):
                return  # already gone: destruction is idempotent
            raise KeyStateError(
                f"OpenBao refused to allow deletion of key {name!r}: {_server_errors(exc)}"
            ) from exc
        try:
            self._call(
                f"deletion of key {name!r}",
                lambda: self._client.secrets.transit.delete_key(name, mount_point=self._mount),
            )
        except hvac_exc.InvalidRequest as exc:
            if _has_error(exc, "not found"):
                return
            raise KeyStateError(
                f"OpenBao refused to delete key {name!r}: {_server_errors(exc)}"
            ) from exc
        if self._read_key(key_id) is not None:
            raise KeyStateError(f"key {name!r} still exists in OpenBao after its deletion")
