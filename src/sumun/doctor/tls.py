"""TLS certificate checks for the admin API and the XKS proxy listeners (pyca/cryptography).

Each configured pair must be readable, the certificate must be valid now and for a while yet,
and the private key must be the certificate's. The key is loaded only to compare public keys;
nothing of it is printed. An encrypted key cannot be checked here (the server cannot load it
either: it takes unencrypted PEM).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sumun.config import Settings
from sumun.doctor.model import Check, Context, fail, ok, warn

__all__ = ["check_admin_tls", "check_certificate", "check_xks_tls"]

EXPIRY_WARN_DAYS = 30
EXPIRY_FAIL_DAYS = 7
_RENEW = "renew the certificate and restart (or reload) Sumun"


def _resolve(settings: Settings, path: Path) -> Path:
    if not path.is_absolute() and settings.config_file is not None:
        return settings.config_file.parent / path
    return path


def _spki(key: object) -> bytes:
    public = key.public_key()  # type: ignore[attr-defined]
    return bytes(
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _load_pair(  # noqa: PLR0911 - one exit per fault
    name: str, cert_path: Path, key_path: Path
) -> x509.Certificate | Check:
    """The certificate, once it and its key are read and match; else the failing check."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except OSError as exc:
        return fail(name, f"cannot read {cert_path}: {exc.strerror}", "check the path and mode")
    except ValueError:
        return fail(name, f"{cert_path} is not a PEM certificate", "give a PEM certificate")
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as exc:
        return fail(
            name,
            f"cannot read {key_path}: {exc.strerror}",
            "the service user must be able to read the key (chmod 600, owned by it)",
        )
    except TypeError:
        return fail(name, f"{key_path} is encrypted", "give the key as unencrypted PEM (0600)")
    except ValueError:
        return fail(name, f"{key_path} is not a PEM private key", "give a PEM private key")
    try:
        matches = _spki(key) == _spki(cert)
    except (AttributeError, ValueError):
        matches = False
    if not matches:
        return fail(
            name,
            f"{key_path} is not the key of {cert_path}",
            "give the private key the certificate was issued for",
        )
    return cert


def check_certificate(
    name: str, cert_path: Path, key_path: Path, *, now: dt.datetime | None = None
) -> Check:
    """One certificate/key pair: readable, matching, valid now and not expiring soon."""
    now = now or dt.datetime.now(dt.UTC)
    cert = _load_pair(name, cert_path, key_path)
    if isinstance(cert, Check):
        return cert
    subject = cert.subject.rfc4514_string() or "(no subject)"
    after = cert.not_valid_after_utc
    left = after - now
    when = after.strftime("%Y-%m-%d")
    if cert.not_valid_before_utc > now:
        return fail(
            name,
            f"{subject} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}",
            "check this host's clock, or issue a certificate valid now",
        )
    if left <= dt.timedelta(0):
        return fail(name, f"{subject} expired on {when}", _RENEW)
    if left < dt.timedelta(days=EXPIRY_WARN_DAYS):
        soon = fail if left < dt.timedelta(days=EXPIRY_FAIL_DAYS) else warn
        return soon(name, f"{subject} expires on {when}, in {left.days} days", _RENEW)
    mode = stat.S_IMODE(os.stat(key_path).st_mode)
    if mode & 0o077:
        return warn(
            name,
            f"{subject} valid until {when}, but {key_path} is readable by others ({mode:04o})",
            f"chmod 600 {key_path}",
        )
    return ok(name, f"{subject}, valid until {when} ({left.days} days), key matches")


def check_admin_tls(ctx: Context) -> Check:
    name = "admin API TLS"
    if ctx.settings is None:
        return fail(name, "not checked: sumun.yaml did not load", "fix sumun.yaml first")
    conf = ctx.settings.admin_api
    where = f"{conf.host}:{conf.port}"
    if not conf.enabled:
        return ok(name, "the admin API is off")
    if conf.tls_cert_file is None or conf.tls_key_file is None:
        if conf.host in ("127.0.0.1", "::1", "localhost"):
            return ok(name, f"plain HTTP on loopback {where} (no certificate configured)")
        return warn(
            name,
            f"plain HTTP on {where}: admin keys and console sessions cross the network in clear",
            "set admin_api.tls_cert_file and tls_key_file (docs/deploy.md)",
        )
    return check_certificate(
        name,
        _resolve(ctx.settings, conf.tls_cert_file),
        _resolve(ctx.settings, conf.tls_key_file),
    )


def check_xks_tls(ctx: Context) -> Check | None:
    if ctx.settings is None:
        return None
    conf = ctx.settings.xks
    if conf.tls_cert_file is None or conf.tls_key_file is None:
        return None  # the XKS proxy is off (listen needs both files)
    name = "XKS proxy TLS"
    found = check_certificate(
        name,
        _resolve(ctx.settings, conf.tls_cert_file),
        _resolve(ctx.settings, conf.tls_key_file),
    )
    if found.status == "fail" or conf.client_ca_file is None:
        return found
    ca = _resolve(ctx.settings, conf.client_ca_file)
    try:
        x509.load_pem_x509_certificates(ca.read_bytes())
    except OSError as exc:
        return fail(name, f"cannot read client_ca_file {ca}: {exc.strerror}", "check the path")
    except ValueError:
        return fail(name, f"client_ca_file {ca} holds no PEM certificate", "give the CA in PEM")
    return found
