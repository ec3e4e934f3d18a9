"""Hot reload over the admin API: `POST /reload`, as `sumun reload` and SIGHUP.

This node re-reads sumun.yaml and its policy, validates both completely, swaps them in at once
and tells every other node to re-read its own files (`sumun.gateway.reload`). Refused whole
(409, each problem at its file and line) when a file is not valid, or when a change needs a
restart (the message names each key). Recorded as `config-reload` with the caller as actor.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sumun.admin.http.audit import writable
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import NoBody, NoQuery
from sumun.admin.http.operation import Call, Operation
from sumun.errors import UsageError
from sumun.store.model import Permission

__all__ = ["OPERATIONS"]


class ConfigReloaded(BaseModel):
    applied: bool = Field(description="false: the files say what was already in force")
    changed: list[str] = Field(description="the sections that changed (and `policy`)")
    config_file: str | None = Field(description="sumun.yaml as read (null: no file)")
    config_sha256: str | None = Field(description="of sumun.yaml's bytes as applied")
    policy_source: str = Field(description="where the policy in force was read from")
    policy_sha256: str | None = Field(description="of the policy document (null: built-in)")
    ledger_seq: int | None = Field(description="the `config-reload` entry")


def reload(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> ConfigReloaded:
    if ctx.reload is None:
        raise UsageError("this node serves no gateway: nothing to reload")
    writable(ctx)
    caller = call.who
    principal = caller.principal
    done: dict[str, Any] = ctx.reload(
        caller.actor,
        {"actor_role": principal.role.value, "actor_tenant": principal.tenant},
    )
    return ConfigReloaded.model_validate(done)


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "POST",
        "/reload",
        "reloadConfig",
        "Re-read sumun.yaml and the policy on every node, validated first, applied at once",
        "reload",
        Permission.MANAGE,
        NoQuery,
        NoBody,
        ConfigReloaded,
        reload,
        scope="deployment",
        description="As `sumun reload` and SIGHUP. 409, nothing changed, when a file is not "
        "valid (each problem at its file and line) or a change needs a restart (each key "
        "named). Requests in flight finish on the settings they started with. Recorded in "
        "the ledger (`config-reload`, with the SHA-256 of each file and the sections "
        "changed) with the calling key as actor; every other node re-reads its own files.",
    ),
)
