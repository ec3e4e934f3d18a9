"""AWS KMS External Key Store over the admin API — the `sumun xks` commands' twin (docs/xks.md).

    GET  /xks/keystores                                  keystores and their URI paths
    POST /xks/keystores                                  {name, uri_prefix}
    POST /xks/keystores/{keystore}/aws-setup             {endpoint, …}: what to paste into AWS
                                                         (changes nothing; admins only)
    GET  /xks/credentials[?keystore=]                    access key ids (never a secret)
    POST /xks/keystores/{keystore}/credentials           issue: the secret is in this answer
                                                         only, once
    POST /xks/keystores/{keystore}/credentials/{access_key_id}/revoke
    GET  /xks/keys                                       external keys, usage, state
    POST /xks/keys                                       {keystore, key_id, usage}
    POST /xks/keys/{key_id}/disable | enable | destroy   the kill switch; crypto-shred

XKS is deployment-wide: only keys of the operator tenant may call these. Recording: keystore,
credential and key-usage changes are `admin-change` entries naming the calling key (`xks-…`
actions); key lifecycle changes are the key layer's own `key-event`s with that actor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, Field

from sumun.admin.http.audit import change_entry, record, writable
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoBody, NoQuery, QueryModel
from sumun.admin.http.operation import Call, Operation
from sumun.errors import UsageError
from sumun.store.model import Permission
from sumun.store.xks import XksStore
from sumun.xks.service import ServiceKeyLayer, XksManager, aws_setup

__all__ = ["OPERATIONS"]

_MAX_SHARES = 255


class Keystore(BaseModel):
    name: str
    uri_prefix: str
    uri_path: str = Field(description="AWS's XksProxyUriPath")
    created_at: float


class Keystores(BaseModel):
    keystores: list[Keystore]


class Credential(BaseModel):
    keystore: str
    access_key_id: str
    created_at: float
    revoked_at: float | None
    active: bool


class Credentials(BaseModel):
    credentials: list[Credential]


class Issued(BaseModel):
    keystore: str
    access_key_id: str
    secret_access_key: str = Field(description="shown in this answer only; Sumun keeps it sealed")
    created_at: float
    ledger_seq: int | None


class Revoked(Credential):
    changed: bool = Field(description="false: it was revoked already")


class ExternalKey(BaseModel):
    key_id: str
    keystore: str
    usage: Literal["both", "encrypt", "decrypt", "none"]
    state: str = Field(description="enabled, disabled, pending-destruction, destroyed")
    enabled: bool
    backend: str | None
    primary: int | None
    created_at: float


class ExternalKeys(BaseModel):
    keys: list[ExternalKey]


class AwsSetup(BaseModel):
    create_custom_key_store: dict[str, Any]
    create_key: list[dict[str, Any]]
    commands: list[str]


class KeystoreBody(BodyModel):
    name: str = Field(max_length=63)
    uri_prefix: str = Field(max_length=128, description='"" or /seg[/seg…]')


class KeyBody(BodyModel):
    keystore: str = Field(max_length=63)
    key_id: str = Field(max_length=63)
    usage: Literal["both", "encrypt", "decrypt", "none"]


class DestroyBody(BodyModel):
    confirm: str = Field(max_length=63, description="the key id typed again")
    grace_days: float | None = Field(default=None, gt=0, le=3650)
    now: bool = Field(default=False, description="at once: needs `shares` or `passphrase`")
    shares: list[str] = Field(default_factory=list, max_length=_MAX_SHARES)
    passphrase: str | None = Field(default=None, max_length=1024)


class CredentialsQuery(QueryModel):
    keystore: str | None = Field(default=None, max_length=63)


class SetupBody(BodyModel):
    endpoint: str = Field(max_length=512, description="https://<host>[:port] AWS reaches")
    vpc_endpoint_service: str | None = Field(default=None, max_length=512)
    access_key_id: str | None = Field(default=None, max_length=30)
    custom_key_store_id: str | None = Field(default=None, max_length=64)


@contextmanager
def _manager(
    ctx: AdminContext,
    call: Call[Any, Any],
    *,
    shares: list[str] | None = None,
    passphrase: str | None = None,
    seqs: list[int] | None = None,
) -> Iterator[XksManager]:
    """The shared management on this node's key service, acting as the caller; `seqs`
    collects the admin-change entries it records."""
    caller = call.who
    keys = ServiceKeyLayer(ctx.keys, caller.actor, shares=shares or (), passphrase=passphrase)

    def recorder(action: str, attrs: dict[str, str]) -> int | None:
        seq = record(ctx, caller, change_entry(caller, action, attrs=attrs))
        if seqs is not None:
            seqs.append(seq)
        return seq

    store = XksStore(ctx.control.database())
    try:
        yield XksManager(store, keys, recorder)
    finally:
        store.close()


def list_keystores(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Keystores:
    with _manager(ctx, call) as manager:
        return Keystores(keystores=[Keystore(**k) for k in manager.list_keystores()])


def create_keystore(ctx: AdminContext, call: Call[NoQuery, KeystoreBody]) -> Keystore:
    writable(ctx)
    with _manager(ctx, call) as manager:
        return Keystore(**manager.create_keystore(call.body.name, call.body.uri_prefix))


def list_credentials(ctx: AdminContext, call: Call[CredentialsQuery, NoBody]) -> Credentials:
    with _manager(ctx, call) as manager:
        rows = manager.list_credentials(call.query.keystore)
    return Credentials(credentials=[Credential(**r) for r in rows])


def issue_credential(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Issued:
    writable(ctx)
    seqs: list[int] = []
    with _manager(ctx, call, seqs=seqs) as manager:
        issued = manager.issue_credential(call.path["keystore"])
    return Issued(**issued.to_json(), ledger_seq=seqs[-1] if seqs else None)


def revoke_credential(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Revoked:
    writable(ctx)
    with _manager(ctx, call) as manager:
        result = manager.revoke_credential(call.path["keystore"], call.path["access_key_id"])
    return Revoked(**result)


def list_keys(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> ExternalKeys:
    with _manager(ctx, call) as manager:
        return ExternalKeys(keys=[ExternalKey(**k) for k in manager.list_keys()])


def create_key(ctx: AdminContext, call: Call[NoQuery, KeyBody]) -> ExternalKey:
    writable(ctx)
    body = call.body
    with _manager(ctx, call) as manager:
        return ExternalKey(**manager.create_key(body.keystore, body.key_id, body.usage))


def _key_change(
    act: Callable[[XksManager, str], dict[str, Any]],
) -> Callable[[AdminContext, Call[NoQuery, NoBody]], ExternalKey]:
    def handler(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> ExternalKey:
        writable(ctx)
        with _manager(ctx, call) as manager:
            return ExternalKey(**act(manager, call.path["key_id"]))

    return handler


def destroy_key(ctx: AdminContext, call: Call[NoQuery, DestroyBody]) -> ExternalKey:
    body, key_id = call.body, call.path["key_id"]
    if body.confirm != key_id:
        raise UsageError("body.confirm: type the key id again to confirm its destruction")
    if not body.now and (body.shares or body.passphrase is not None):
        raise UsageError("body.shares / body.passphrase: only an immediate destruction takes them")
    if body.now and body.grace_days is not None:
        raise UsageError("body.grace_days: an immediate destruction has no grace period")
    writable(ctx)
    with _manager(ctx, call, shares=body.shares, passphrase=body.passphrase) as manager:
        return ExternalKey(**manager.destroy_key(key_id, now=body.now, grace_days=body.grace_days))


def setup(ctx: AdminContext, call: Call[NoQuery, SetupBody]) -> AwsSetup:
    name, query = call.path["keystore"], call.body
    with _manager(ctx, call) as manager:
        found = manager.keystore(name)
        active = [c for c in manager.list_credentials(name) if c["active"]]
        key_ids = [k["key_id"] for k in manager.list_keys() if k["keystore"] == name]
    access = query.access_key_id or (active[-1]["access_key_id"] if active else None)
    vpc = query.vpc_endpoint_service
    return AwsSetup(
        **aws_setup(
            found,
            endpoint=query.endpoint,
            access_key_id=access,
            key_ids=key_ids,
            connectivity="PUBLIC_ENDPOINT" if vpc is None else "VPC_ENDPOINT_SERVICE",
            vpc_endpoint_service=vpc,
            custom_key_store_id=query.custom_key_store_id,
        )
    )


def _op(
    method: Literal["GET", "POST"],
    path: str,
    handler: Callable[[AdminContext, Call[Any, Any]], BaseModel],
    response: type[BaseModel],
    *,
    name: str,
    summary: str,
    body: type[BodyModel] = NoBody,
    query: type[QueryModel] = NoQuery,
    **extra: Any,
) -> Operation[Any, Any]:
    permission = Permission.READ_CONTROL if method == "GET" else Permission.MANAGE
    return Operation(
        method,
        path,
        name,
        summary,
        "xks",
        permission,
        query,
        body,
        response,
        handler,
        scope="deployment",
        **extra,
    )


_CHANGE = "Recorded as an `admin-change` entry naming the calling key."
_KEY_EVENT = "Recorded as the key layer's `key-event` entry, naming the caller as actor."

OPERATIONS: tuple[Operation[Any, Any], ...] = (
    _op("GET", "/xks/keystores", list_keystores, Keystores, name="listXksKeystores",
        summary="XKS keystores and their URI paths"),
    _op("POST", "/xks/keystores", create_keystore, Keystore, name="createXksKeystore",
        summary="Create a keystore served at <uri_prefix>/kms/xks/v1", body=KeystoreBody,
        status=201, description=_CHANGE),
    _op("POST", "/xks/keystores/{keystore}/aws-setup", setup, AwsSetup, name="xksAwsSetup",
        summary="CreateCustomKeyStore and CreateKey parameters, and AWS CLI commands "
        "(changes nothing; the secret's place is marked, never filled)", body=SetupBody),
    _op("GET", "/xks/credentials", list_credentials, Credentials, name="listXksCredentials",
        summary="SigV4 access key ids and their states (never a secret)",
        query=CredentialsQuery),
    _op("POST", "/xks/keystores/{keystore}/credentials", issue_credential, Issued,
        name="issueXksCredential", status=201,
        summary="Issue a SigV4 credential: the secret is in this answer only",
        description=_CHANGE + " The secret is never recorded, logged or shown again."),
    _op("POST", "/xks/keystores/{keystore}/credentials/{access_key_id}/revoke",
        revoke_credential, Revoked, name="revokeXksCredential",
        summary="Revoke a credential: its signatures fail within 1 s", description=_CHANGE),
    _op("GET", "/xks/keys", list_keys, ExternalKeys, name="listXksKeys",
        summary="External keys: keystore, usage, state"),
    _op("POST", "/xks/keys", create_key, ExternalKey, name="createXksKey", body=KeyBody,
        status=201, summary="Create an external key (a Sumun key on this backend)",
        description=_KEY_EVENT + " The usage is an `admin-change` (`xks-key-create`)."),
    _op("POST", "/xks/keys/{key_id}/disable",
        _key_change(lambda m, k: m.disable_key(k)), ExternalKey, name="disableXksKey",
        summary="The kill switch: Encrypt and Decrypt fail within 1 s", description=_KEY_EVENT),
    _op("POST", "/xks/keys/{key_id}/enable",
        _key_change(lambda m, k: m.enable_key(k)), ExternalKey, name="enableXksKey",
        summary="Enable again; cancels a pending destruction", description=_KEY_EVENT),
    _op("POST", "/xks/keys/{key_id}/destroy", destroy_key, ExternalKey, name="destroyXksKey",
        body=DestroyBody, summary="Crypto-shred after the grace period, or at once with a "
        "fresh quorum (`confirm` = the key id)", description=_KEY_EVENT),
)  # fmt: skip
