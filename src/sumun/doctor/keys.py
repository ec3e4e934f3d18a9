"""The key backend check: the backend chosen at `sumun init`, reachable and able to serve.

Only health is asked: OpenBao's sys/health and one authenticated read (sealed? token valid?
Transit mounted?), a PKCS#11 login to the token. No key is created, used or listed, and the
token or PIN never appears in a result (the backends' own errors name only the variable).
"""

from __future__ import annotations

from sumun.config import Settings
from sumun.doctor.model import Check, Context, fail, message, ok
from sumun.doctor.stores import read_seal
from sumun.errors import ConfigError, SumunError
from sumun.keys.seal import SealInfo
from sumun.keys.service import deployment_settings

__all__ = ["check_key_backend"]

_NAME = "key backend"


def _sealed_by(info: SealInfo) -> str:
    if info.method == "shamir":
        return f"{info.threshold}-of-{info.custodians} custodian shares"
    return "an operator passphrase"


def check_key_backend(ctx: Context) -> Check:
    if ctx.settings is None:
        return fail(_NAME, "not checked: sumun.yaml did not load", "fix sumun.yaml first")
    try:
        info = read_seal(ctx.settings, ctx.home, ctx.timeout)
    except SumunError as exc:
        advice = exc.advice or "restore home.json from a backup"
        return fail(_NAME, f"cannot read the seal record: {message(exc)}", advice)
    try:
        # The backend recorded at `sumun init` is the one in force; a configuration that
        # explicitly names another is refused, as every command refuses it.
        settings = deployment_settings(ctx.settings, info)
    except ConfigError as exc:
        return fail(_NAME, message(exc), exc.advice or "fix keys.backend")
    try:
        facts = _probe(settings, info.backend, ctx.timeout)
    except SumunError as exc:
        return fail(_NAME, f"{info.backend}: {message(exc)}", exc.advice or "check the backend")
    return ok(_NAME, f"{info.backend} ({facts}); master key sealed by {_sealed_by(info)}")


def _probe(settings: Settings, backend: str, timeout: float) -> str:
    """Ask the backend whether it can serve now; a short description of it when it can."""
    keys = settings.keys
    if backend == "embedded":
        return "KEKs wrapped under the master key in the control store"
    if backend == "pkcs11":
        from sumun.keys.backends.pkcs11 import Pkcs11Backend

        pin = settings.secret_from_env(keys.pkcs11.pin_env)
        if pin is None:
            raise ConfigError(
                f"${keys.pkcs11.pin_env} is not set",
                advice=f"export the token's user PIN in ${keys.pkcs11.pin_env}",
            )
        hsm = keys.pkcs11.model_copy(update={"timeout": min(keys.pkcs11.timeout, timeout)})
        token = Pkcs11Backend(hsm, pin)
        try:
            token.check()
            return f"token {hsm.token_label!r}, logged in"
        finally:
            token.close()
    if backend == "openbao":
        from sumun.keys.backends.openbao import OpenBaoBackend

        secret = settings.secret_from_env(keys.openbao.token_env)
        if secret is None:
            raise ConfigError(
                f"${keys.openbao.token_env} is not set",
                advice=f"export an OpenBao token for Sumun in ${keys.openbao.token_env}",
            )
        server = keys.openbao.model_copy(update={"timeout": min(keys.openbao.timeout, timeout)})
        bao = OpenBaoBackend(server, secret)
        try:
            bao.check()
            return f"{server.address}, unsealed, token valid, Transit at {server.mount}/"
        finally:
            bao.close()
    return "unknown backend"
