"""TLS for the XKS listener (spec, API content type and Authentication).

versions   TLS 1.2 and 1.3 only
TLS 1.2    ECDHE-ECDSA-AES256-GCM-SHA384, ECDHE-RSA-AES256-GCM-SHA384 (the spec's two:
           forward secrecy, AES-256-GCM); nothing else is offered
TLS 1.3    OpenSSL's suites — TLS_AES_256_GCM_SHA384 (preferred),
           TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256 (Python cannot narrow them)
ALPN       http/1.1 (the spec requires HTTP/1.1 or later and a fallback to 1.1)
mTLS       with `client_ca_file`: a client certificate chained to that CA is required, the
           handshake fails without one; with `client_subject` too, a certificate whose
           subject common name is not exactly that (AWS KMS presents
           CN=cks.kms.<region>.amazonaws.com) is cut off right after the handshake,
           before a byte of HTTP is read (Python's ssl has no hook inside the handshake)
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from pathlib import Path
from typing import Any, TypeVar

from sumun.errors import ConfigError

__all__ = ["TLS12_CIPHERS", "client_common_name", "server_context", "subject_checked"]

log = logging.getLogger(__name__)

TLS12_CIPHERS = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
_LOG_EVERY = 10.0

P = TypeVar("P", bound=asyncio.Protocol)


def server_context(
    cert_file: Path, key_file: Path, client_ca_file: Path | None = None
) -> ssl.SSLContext:
    """The listener's SSLContext. ConfigError when a file is missing or does not load."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_COMPRESSION
    ctx.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    ctx.set_alpn_protocols(["http/1.1"])
    try:
        ctx.load_cert_chain(cert_file, key_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"xks TLS certificate or key does not load ({cert_file}, {key_file}): {exc}",
            advice="set xks.tls_cert_file and xks.tls_key_file to a PEM certificate and its key",
        ) from exc
    if client_ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=client_ca_file)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"xks client CA file does not load ({client_ca_file}): {exc}"
            ) from exc
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_common_name(peercert: Any) -> str | None:
    """The subject common name of a verified peer certificate (`getpeercert()`), or None."""
    if not isinstance(peercert, dict):
        return None
    names = [
        value for rdn in peercert.get("subject", ()) for key, value in rdn if key == "commonName"
    ]
    return names[0] if len(names) == 1 else None


def subject_checked(protocol: type[P], subject: str) -> type[P]:
    """`protocol` that closes, once the handshake is over, every connection whose client
    certificate's subject common name is not `subject` (module docstring)."""
    last_log = [0.0]

    def connection_made(self: Any, transport: asyncio.Transport) -> None:
        protocol.connection_made(self, transport)
        name = client_common_name(transport.get_extra_info("peercert"))
        if name != subject:
            now = time.monotonic()
            if now - last_log[0] >= _LOG_EVERY:
                last_log[0] = now
                peer = transport.get_extra_info("peername")
                log.warning("xks: refused a client certificate with CN %r from %s", name, peer)
            transport.abort()

    return type(
        f"SubjectChecked{protocol.__name__}", (protocol,), {"connection_made": connection_made}
    )
