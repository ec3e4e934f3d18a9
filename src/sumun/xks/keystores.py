"""Logical keystores: what one AWS `CreateCustomKeyStore` points at.

A keystore has a name (Sumun's) and a URI prefix: the proxy serves it at
`https://<host><uri_prefix>/kms/xks/v1/…`, and AWS's `XksProxyUriPath` is
`<uri_prefix>/kms/xks/v1`. AWS constrains that path (CreateCustomKeyStore): 10–128 characters,
`^(/[a-zA-Z0-9/_-]+/kms/xks/v\\d{1,2})$|^(/kms/xks/v\\d{1,2})$`. Sumun is stricter so that a
path names one keystore only: the prefix is "" or "/seg[/seg…]", each segment non-empty from
a-z A-Z 0-9 _ -, no segment sequence `kms/xks`, and prefix + "/kms/xks/v1" ≤ 128 characters.
"""

from __future__ import annotations

import re

from sumun.errors import UsageError
from sumun.store.xks import KeystoreRow, XksStore
from sumun.xks.model import Keystore

__all__ = [
    "API_PATH",
    "MAX_URI_PATH",
    "create_keystore",
    "list_keystores",
    "uri_path",
    "validate_keystore_name",
    "validate_uri_prefix",
]

API_PATH = "/kms/xks/v1"
MAX_URI_PATH = 128
_SEGMENTS = re.compile(r"^(/[A-Za-z0-9_-]+)+$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def validate_keystore_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(
            f"invalid keystore name {name!r}: use 1-63 characters from a-z 0-9 . _ -, "
            "starting with a letter or digit"
        )
    return name


def validate_uri_prefix(prefix: str) -> str:
    """The prefix as stored: "" (the API at the root) or "/seg[/seg…]" (a trailing "/" is
    dropped). UsageError naming the rule it breaks."""
    if prefix in ("", "/"):
        return ""
    cleaned = prefix[:-1] if prefix.endswith("/") else prefix
    if not cleaned.startswith("/"):
        cleaned = "/" + cleaned
    if not _SEGMENTS.match(cleaned):
        raise UsageError(
            f"invalid URI prefix {prefix!r}: use /segment[/segment…] with a-z A-Z 0-9 _ - "
            "in each segment (AWS's XksProxyUriPath rules)"
        )
    if "/kms/xks/" in cleaned + "/":
        raise UsageError(f"invalid URI prefix {prefix!r}: it must not contain /kms/xks/")
    if len(cleaned) + len(API_PATH) > MAX_URI_PATH:
        raise UsageError(
            f"URI prefix {prefix!r} is too long: with {API_PATH} AWS allows "
            f"{MAX_URI_PATH} characters, so at most {MAX_URI_PATH - len(API_PATH)}"
        )
    return cleaned


def uri_path(keystore: Keystore | KeystoreRow) -> str:
    """AWS's `XksProxyUriPath` for this keystore."""
    return keystore.uri_prefix + API_PATH


def _model(row: KeystoreRow) -> Keystore:
    return Keystore(row.name, row.uri_prefix, int(row.created_at * 1000))


def create_keystore(store: XksStore, name: str, uri_prefix: str) -> Keystore:
    """Validate and add a keystore (ConflictError when the name or prefix is taken)."""
    row = store.create_keystore(validate_keystore_name(name), validate_uri_prefix(uri_prefix))
    return _model(row)


def list_keystores(store: XksStore) -> list[Keystore]:
    return [_model(row) for row in store.keystores()]
