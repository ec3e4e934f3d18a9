"""The XKS proxy's key side, assembled in one place, and the management the CLI and admin API
share.

`build_xks(runtime)` gives the server the three seams' implementations: the keyring (external
keys on the key layer), the credentials (SigV4 secrets in memory) and the audit (the ledger),
all reading one live snapshot of the XKS tables that the node's control watcher refreshes.

`XksManager` is every management operation, over a `KeyLayer` — the CLI's key target (a
running server through its admin channel, or SUMUN_HOME directly with a quorum) or the admin
API's `ServiceKeyLayer` — and a recorder that writes each change as an `admin-change` ledger
entry naming its actor. Key lifecycle changes (create, disable, enable, destroy) are the key
layer's own and recorded by it as `key-event`s; so `sumun xks keys disable K` and
`sumun keys disable K` are the same cut.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sumun.crypto.hazmat.aead import Suite
from sumun.errors import ConflictError, KeyStateError, NotFoundError, SumunError, UsageError
from sumun.keys import operations
from sumun.keys.envelope import Context
from sumun.keys.model import validate_key_id
from sumun.keys.service import KeyService
from sumun.store.xks import CredentialRow, ExternalKeyRow, XksLive, XksStore
from sumun.xks.audit import LedgerAudit
from sumun.xks.credentials import (
    MAX_ACTIVE,
    SECRETS_KEY,
    XKS_TENANT,
    LiveCredentials,
    new_access_key_id,
    new_secret,
    secret_context,
)
from sumun.xks.keyring import HEALTH_KEY, SumunKeyring
from sumun.xks.keystores import create_keystore, list_keystores, uri_path
from sumun.xks.model import Keystore, KeyUsage

if TYPE_CHECKING:
    from sumun.runtime import Runtime
    from sumun.store.watch import ControlWatcher

__all__ = [
    "RESERVED_PREFIX",
    "IssuedCredential",
    "KeyLayer",
    "Recorder",
    "ServiceKeyLayer",
    "XksManager",
    "build_xks",
]

RESERVED_PREFIX = "sumun-"  # Sumun's own key ids (sumun-ledger, sumun-xks-*): never external keys


def build_xks(
    runtime: Runtime, *, watcher: ControlWatcher | None = None
) -> tuple[SumunKeyring, LiveCredentials, LedgerAudit]:
    """The seams for the XKS listener. Pass the gateway's `watcher` (one per node) so XKS rows
    are re-read with every other control change; without one a watcher of its own is started
    (stopped by `credentials.close()`)."""
    control = runtime.control
    live = XksLive(XksStore(control.database()))
    if watcher is None:
        own = control.watcher(control.database())
        live.follow(own)
        own.start()
        live.owns(own)
    else:
        live.follow(watcher)
    return (
        SumunKeyring(runtime.keys, live),
        LiveCredentials(live, runtime.keys),
        LedgerAudit(runtime.ledger),
    )


class KeyLayer(Protocol):
    """What management needs of the key layer (the shapes of `sumun.cli.target.KeyTarget`)."""

    def status(self) -> dict[str, Any]: ...
    def list_keys(self) -> list[dict[str, Any]]: ...
    def create(self, key_id: str, tenant: str | None, suite: Suite | None) -> dict[str, Any]: ...
    def disable(self, key_id: str, version: int | None) -> dict[str, Any]: ...
    def enable(self, key_id: str, version: int | None) -> dict[str, Any]: ...
    def destroy(
        self, key_id: str, *, now: bool, grace_days: float | None, version: int | None
    ) -> dict[str, Any]: ...
    def encrypt(self, key_id: str, data: bytes, context: Context, subject: str | None) -> bytes: ...


class ServiceKeyLayer:
    """`KeyLayer` on this process's KeyService, acting as `actor` (the admin API's caller).
    `shares` / `passphrase`: the fresh quorum an immediate destruction needs (never kept)."""

    def __init__(
        self,
        service: KeyService,
        actor: str,
        *,
        shares: Sequence[str] = (),
        passphrase: str | None = None,
    ) -> None:
        self._service = service
        self._actor = actor
        self._shares = tuple(shares)
        self._passphrase = passphrase

    def __repr__(self) -> str:
        return f"<ServiceKeyLayer {self._actor}>"

    def status(self) -> dict[str, Any]:
        return self._service.status(check_backend=False).to_json()

    def list_keys(self) -> list[dict[str, Any]]:
        return [k.to_json() for k in self._service.status(check_backend=False).keys]

    def create(self, key_id: str, tenant: str | None, suite: Suite | None) -> dict[str, Any]:
        record = self._service.lifecycle.create(
            key_id, actor=self._actor, tenant=tenant, suite=suite
        )
        self._service.refresh(force=True)
        return record.to_json()

    def disable(self, key_id: str, version: int | None) -> dict[str, Any]:
        lifecycle = self._service.lifecycle
        return lifecycle.disable(key_id, actor=self._actor, version=version).to_json()

    def enable(self, key_id: str, version: int | None) -> dict[str, Any]:
        lifecycle = self._service.lifecycle
        return lifecycle.enable(key_id, actor=self._actor, version=version).to_json()

    def destroy(
        self, key_id: str, *, now: bool, grace_days: float | None, version: int | None
    ) -> dict[str, Any]:
        record = operations.destroy(
            self._service,
            key_id,
            actor=self._actor,
            now=now,
            shares=self._shares,
            passphrase=self._passphrase,
            grace_days=grace_days,
            version=version,
        )
        return record.to_json()

    def encrypt(self, key_id: str, data: bytes, context: Context, subject: str | None) -> bytes:
        return self._service.encrypt(key_id, data, context, subject=subject)


# (action, attrs) → the admin-change entry's seq, or None when not recorded
Recorder = Callable[[str, dict[str, str]], int | None]


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """A credential as issued: the secret is here once, and nowhere else afterwards."""

    keystore: str
    access_key_id: str
    secret_access_key: str
    created_at: float

    def __repr__(self) -> str:
        return f"IssuedCredential({self.keystore!r}, {self.access_key_id!r}, secret hidden)"

    def to_json(self) -> dict[str, Any]:
        return {
            "keystore": self.keystore,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "created_at": self.created_at,
        }


def keystore_json(keystore: Keystore) -> dict[str, Any]:
    return {
        "name": keystore.name,
        "uri_prefix": keystore.uri_prefix,
        "uri_path": uri_path(keystore),
        "created_at": keystore.created_ms / 1000,
    }


def credential_json(row: CredentialRow) -> dict[str, Any]:
    """A credential as lists show it: never the secret, not even sealed."""
    return {
        "keystore": row.keystore,
        "access_key_id": row.access_key_id,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        "active": row.active,
    }


def _key_json(row: ExternalKeyRow, record: dict[str, Any] | None) -> dict[str, Any]:
    state = "missing" if record is None else str(record["state"])
    return {
        "key_id": row.key_id,
        "keystore": row.keystore,
        "usage": row.usage,
        "state": state,
        "enabled": state == "enabled",
        "backend": None if record is None else record.get("backend"),
        "primary": None if record is None else record.get("primary"),
        "created_at": row.created_at,
    }


class XksManager:
    """Keystores, credentials and external keys: every change validated, made, then recorded."""

    def __init__(
        self,
        store: XksStore,
        keys: KeyLayer,
        record: Recorder,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._keys = keys
        self._record = record
        self._clock = clock

    def __repr__(self) -> str:
        return "<XksManager>"

    # -- keystores -----------------------------------------------------------------------------

    def create_keystore(self, name: str, uri_prefix: str) -> dict[str, Any]:
        keystore = create_keystore(self._store, name, uri_prefix)
        self._record(
            "xks-keystore-create", {"keystore": keystore.name, "uri_prefix": keystore.uri_prefix}
        )
        return keystore_json(keystore)

    def list_keystores(self) -> list[dict[str, Any]]:
        return [keystore_json(k) for k in list_keystores(self._store)]

    def keystore(self, name: str) -> dict[str, Any]:
        row = self._store.keystore(name)
        return keystore_json(Keystore(row.name, row.uri_prefix, int(row.created_at * 1000)))

    # -- credentials ---------------------------------------------------------------------------

    def _sealing_key(self) -> None:
        """Make sure the key that seals the secrets exists and is usable."""
        found = {k["key_id"]: k for k in self._keys.list_keys()}.get(SECRETS_KEY)
        if found is None:
            with contextlib.suppress(KeyStateError):  # created elsewhere at the same moment
                self._keys.create(SECRETS_KEY, XKS_TENANT, None)
        elif found["state"] != "enabled":
            raise KeyStateError(
                f"the key that seals XKS secrets ({SECRETS_KEY}) is {found['state']}",
                advice=f"`sumun keys enable {SECRETS_KEY}`",
            )

    def issue_credential(self, keystore: str) -> IssuedCredential:
        self._store.keystore(keystore)  # NotFoundError first, before any key is touched
        self._sealing_key()
        access_key_id, secret = new_access_key_id(), new_secret()
        sealed = self._keys.encrypt(
            SECRETS_KEY, secret.encode("ascii"), secret_context(keystore, access_key_id), None
        )
        now = self._clock()
        self._store.add_credential(keystore, access_key_id, sealed, limit=MAX_ACTIVE, now=now)
        attrs = {"keystore": keystore, "access_key_id": access_key_id}
        try:
            self._record("xks-credential-issue", attrs)
        except SumunError:
            self._store.revoke_credential(keystore, access_key_id, now=self._clock())
            raise
        return IssuedCredential(keystore, access_key_id, secret, now)

    def revoke_credential(self, keystore: str, access_key_id: str) -> dict[str, Any]:
        changed = self._store.revoke_credential(keystore, access_key_id, now=self._clock())
        if changed:
            self._record(
                "xks-credential-revoke", {"keystore": keystore, "access_key_id": access_key_id}
            )
        rows = [r for r in self._store.credentials(keystore) if r.access_key_id == access_key_id]
        return {**credential_json(rows[0]), "changed": changed}

    def list_credentials(self, keystore: str | None = None) -> list[dict[str, Any]]:
        if keystore is not None:
            self._store.keystore(keystore)
        return [credential_json(r) for r in self._store.credentials(keystore)]

    # -- external keys -------------------------------------------------------------------------

    def create_key(self, keystore: str, key_id: str, usage: str) -> dict[str, Any]:
        validate_key_id(key_id)
        if key_id.startswith(RESERVED_PREFIX):
            raise UsageError(f"key ids starting with {RESERVED_PREFIX!r} are Sumun's own")
        try:
            kind = KeyUsage(usage)
        except ValueError as exc:
            raise UsageError("usage is one of both, encrypt, decrypt, none") from exc
        self._store.keystore(keystore)
        if self._store.external_key(key_id) is not None:
            raise ConflictError(f"key {key_id!r} is an XKS key already")
        status = self._keys.status()
        if status.get("backend") == "embedded" and status.get("suite") != Suite.AES_256_GCM.value:
            raise UsageError(
                f"this deployment's embedded keys use {status.get('suite')}; AWS XKS needs "
                "AES-256-GCM",
                advice="use keys.suite: aes-256-gcm, or a PKCS#11 or OpenBao backend",
            )
        if any(k["key_id"] == key_id for k in self._keys.list_keys()):
            raise ConflictError(
                f"Sumun key {key_id!r} exists already: an external key is a key of its own",
                advice="choose another key id (ids are never reused)",
            )
        record = self._keys.create(key_id, XKS_TENANT, Suite.AES_256_GCM)
        row = self._store.add_key(key_id, keystore, kind.value, now=self._clock())
        attrs = {"keystore": keystore, "key_id": key_id, "usage": kind.value}
        try:
            self._record("xks-key-create", attrs)
        except SumunError:
            self._store.remove_key(key_id)
            raise
        return _key_json(row, record)

    def _xks_key(self, key_id: str) -> ExternalKeyRow:
        row = self._store.external_key(key_id)
        if row is None:
            raise NotFoundError(
                f"{key_id!r} is not an XKS key", advice="`sumun xks keys list` shows them"
            )
        return row

    def disable_key(self, key_id: str) -> dict[str, Any]:
        return _key_json(self._xks_key(key_id), self._keys.disable(key_id, None))

    def enable_key(self, key_id: str) -> dict[str, Any]:
        return _key_json(self._xks_key(key_id), self._keys.enable(key_id, None))

    def destroy_key(
        self, key_id: str, *, now: bool = False, grace_days: float | None = None
    ) -> dict[str, Any]:
        row = self._xks_key(key_id)
        record = self._keys.destroy(key_id, now=now, grace_days=grace_days, version=None)
        return _key_json(row, record)

    def list_keys(self) -> list[dict[str, Any]]:
        records = {k["key_id"]: k for k in self._keys.list_keys()}
        return [_key_json(row, records.get(row.key_id)) for row in self._store.external_keys()]

    @staticmethod
    def reserved(key_id: str) -> bool:
        return key_id in (SECRETS_KEY, HEALTH_KEY) or key_id.startswith(RESERVED_PREFIX)


# -- what to paste into AWS --------------------------------------------------------------------

_SECRET_PLACEHOLDER = "<the secret_access_key printed once by `sumun xks credentials issue`>"  # noqa: S105
_STORE_ID_PLACEHOLDER = "<CustomKeyStoreId from create-custom-key-store>"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def aws_setup(
    keystore: dict[str, Any],
    *,
    endpoint: str,
    access_key_id: str | None,
    key_ids: Sequence[str],
    connectivity: str = "PUBLIC_ENDPOINT",
    vpc_endpoint_service: str | None = None,
    store_name: str | None = None,
    custom_key_store_id: str | None = None,
) -> dict[str, Any]:
    """AWS's CreateCustomKeyStore and CreateKey parameters for `keystore`, and the same as
    AWS CLI commands. The secret is never known here: its place is marked for the operator."""
    if not endpoint.startswith("https://") or "/" in endpoint.removeprefix("https://"):
        raise UsageError(
            "the endpoint is https://<host>[:port] with no path (the path is the keystore's)"
        )
    if connectivity not in ("PUBLIC_ENDPOINT", "VPC_ENDPOINT_SERVICE"):
        raise UsageError("connectivity is PUBLIC_ENDPOINT or VPC_ENDPOINT_SERVICE")
    if (connectivity == "VPC_ENDPOINT_SERVICE") != (vpc_endpoint_service is not None):
        raise UsageError("a VPC endpoint service name goes with VPC_ENDPOINT_SERVICE, only")
    store = {
        "CustomKeyStoreName": store_name or f"sumun-{keystore['name']}",
        "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
        "XksProxyUriEndpoint": endpoint,
        "XksProxyUriPath": keystore["uri_path"],
        "XksProxyConnectivity": connectivity,
        "XksProxyAuthenticationCredential": {
            "AccessKeyId": access_key_id or "<access_key_id from `sumun xks credentials issue`>",
            "RawSecretAccessKey": _SECRET_PLACEHOLDER,
        },
    }
    if vpc_endpoint_service is not None:
        store["XksProxyVpcEndpointServiceName"] = vpc_endpoint_service
    store_id = custom_key_store_id or _STORE_ID_PLACEHOLDER
    keys = [
        {
            "Origin": "EXTERNAL_KEY_STORE",
            "CustomKeyStoreId": store_id,
            "XksKeyId": key_id,
            "KeySpec": "SYMMETRIC_DEFAULT",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "Description": f"Sumun XKS key {key_id} (keystore {keystore['name']})",
        }
        for key_id in key_ids
    ]
    credential = store["XksProxyAuthenticationCredential"]
    assert isinstance(credential, dict)  # noqa: S101 - built just above
    create = [
        "aws kms create-custom-key-store",
        f"--custom-key-store-name {_quote(str(store['CustomKeyStoreName']))}",
        "--custom-key-store-type EXTERNAL_KEY_STORE",
        f"--xks-proxy-uri-endpoint {_quote(endpoint)}",
        f"--xks-proxy-uri-path {_quote(str(store['XksProxyUriPath']))}",
        f"--xks-proxy-connectivity {connectivity}",
    ]
    if vpc_endpoint_service is not None:
        create.append(f"--xks-proxy-vpc-endpoint-service-name {_quote(vpc_endpoint_service)}")
    create.append(
        "--xks-proxy-authentication-credential "
        + _quote(
            f"AccessKeyId={credential['AccessKeyId']},"
            f"RawSecretAccessKey={credential['RawSecretAccessKey']}"
        )
    )
    commands = [
        " \\\n    ".join(create),
        f"aws kms connect-custom-key-store --custom-key-store-id {_quote(store_id)}",
    ]
    for key in keys:
        commands.append(
            " \\\n    ".join(
                [
                    "aws kms create-key",
                    "--origin EXTERNAL_KEY_STORE",
                    f"--custom-key-store-id {_quote(store_id)}",
                    f"--xks-key-id {_quote(str(key['XksKeyId']))}",
                    "--key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT",
                    f"--description {_quote(str(key['Description']))}",
                ]
            )
        )
    return {"create_custom_key_store": store, "create_key": keys, "commands": commands}
