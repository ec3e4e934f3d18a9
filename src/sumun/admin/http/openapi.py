"""The OpenAPI 3.1 document, derived from the operations' declarations (`operation.py`) — the
routes and this document cannot drift apart, because both are made from the same objects.

Schemas are the pydantic models' JSON Schemas (draft 2020-12, which OpenAPI 3.1 adopts);
request bodies in pydantic's validation mode, responses in its serialization mode.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from sumun import __version__
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import NoBody, NoQuery
from sumun.admin.http.operation import API_PREFIX, Call, Operation, Text

__all__ = ["DOCUMENT_PATH", "document_operation", "openapi_document"]

DOCUMENT_PATH = "/openapi.json"
_REF = "#/components/schemas/{model}"

_DESCRIPTION = """\
The control plane of a Sumun deployment: providers and the kill switch, tenants, apps and
virtual API keys, the ledger's metadata, status and metrics.

Authenticate with `Authorization: Bearer <admin or auditor API key>`. What a key may do comes
from its role (admin: read and change; auditor: read); keys of the operator tenant act on the
whole deployment, keys of another tenant on that tenant only. Every change is recorded in the
ledger as an `admin-change` entry naming the key that made it. Errors are
`{"error": {"type", "message"}}`.
"""


class ErrorDetail(BaseModel):
    type: str
    message: str


class Error(BaseModel):
    error: ErrorDetail


_ERRORS = {
    "400": "bad input: not JSON, a wrong type, a missing or unknown field",
    "401": "no API key, or an invalid or revoked one",
    "403": "the key's role (or tenant) may not do this",
    "404": "no such thing (or not in the key's tenant)",
    "413": "body over 64 KiB",
    "415": "body not application/json",
    "default": "a conflict (409), the ledger or a store unavailable (503), a failure (500)",
}


def _models(operations: tuple[Operation[Any, Any], ...]) -> list[tuple[type[BaseModel], Any]]:
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Error, "serialization")]
    for op in operations:
        if op.method == "POST" and op.body is not NoBody:
            pairs.append((op.body, "validation"))
        if op.response is not None:
            pairs.append((op.response, "serialization"))
    return list(dict.fromkeys(pairs))


def _parameters(op: Operation[Any, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in op.path_params
    ]
    if op.query is not NoQuery:
        schema = op.query.model_json_schema()
        required = set(schema.get("required", ()))
        for name, declared in schema.get("properties", {}).items():
            prop = {k: v for k, v in declared.items() if k != "title"}
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            if "description" in prop:
                param["description"] = prop.pop("description")
            params.append(param)
    return params


def _operation(op: Operation[Any, Any], refs: Mapping[tuple[Any, Any], Any]) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": refs[(Error, "serialization")]}}}
    schema = (
        refs[(op.response, "serialization")]
        if op.response is not None
        else ({"type": "object"} if op.media_type == "application/json" else {"type": "string"})
    )
    responses: dict[str, Any] = {
        str(op.status): {"description": op.summary, "content": {op.media_type: {"schema": schema}}}
    }
    codes = ["default"]
    if op.permission is not None:
        codes += ["401", "403"]
    if op.method == "POST" or op.query is not NoQuery or op.path_params:
        codes.append("400")
    if op.path_params:
        codes.append("404")
    if op.method == "POST":
        codes += ["413", "415"]
    for code in sorted(codes, key=lambda c: (c == "default", c)):
        responses[code] = {"description": _ERRORS[code], **error}
    out: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": responses,
    }
    if op.description:
        out["description"] = op.description
    params = _parameters(op)
    if params:
        out["parameters"] = params
    if op.method == "POST" and op.body is not NoBody:
        required = bool(op.body.model_json_schema().get("required"))
        out["requestBody"] = {
            "required": required,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    if op.permission is None:
        out["security"] = []  # public
    else:
        out["x-sumun-permission"] = op.permission.value
        out["x-sumun-scope"] = op.scope
    return out


def openapi_document(operations: tuple[Operation[Any, Any], ...]) -> dict[str, Any]:
    refs, top = models_json_schema(_models(operations), ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.route, {})[op.method.lower()] = _operation(op, refs)
    tags = list(dict.fromkeys(op.tag for op in operations))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sumun admin API", "version": __version__, "description": _DESCRIPTION},
        "tags": [{"name": tag} for tag in tags],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a Sumun virtual API key of role admin or auditor",
                }
            },
        },
    }


def document_operation(operations: tuple[Operation[Any, Any], ...]) -> Operation[Any, Any]:
    """`GET /openapi.json`: public (it describes the API, not the deployment), and listed in
    the document it serves."""

    def serve(_ctx: AdminContext, _call: Call[NoQuery, NoBody]) -> Text:
        return Text(body, "application/json")

    op: Operation[NoQuery, NoBody] = Operation(
        "GET",
        DOCUMENT_PATH,
        "getOpenApi",
        f"This document (OpenAPI 3.1) for {API_PREFIX}",
        "meta",
        None,
        NoQuery,
        NoBody,
        None,
        serve,
    )
    body = json.dumps(openapi_document((*operations, op)), ensure_ascii=False).encode()
    return op
