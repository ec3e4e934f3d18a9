"""Configuration: `sumun.yaml` + environment, typed with pydantic.

Where the file is looked for, first match wins: `--config` / `SUMUN_CONFIG`, then
`$SUMUN_HOME/sumun.yaml`, then `./sumun.yaml`. No file means all defaults (embedded keystore).
Secrets (PKCS#11 PIN, OpenBao token) MUST come from the environment, never from the file:
the file names the variable to read.

Environment overrides: `SUMUN_HOME` (default `./.sumun`), `SUMUN_KEYS_BACKEND`,
`SUMUN_KEYS_SUITE`, `SUMUN_CONTROL_STORE`, `SUMUN_OPENBAO_ADDR`, `SUMUN_PKCS11_MODULE`,
`SUMUN_PKCS11_TOKEN`, `SUMUN_LEDGER_STORE`, `SUMUN_LEDGER_DURABILITY`.

Here: `Settings` (the whole file) and how it is found, read and validated. Its sections are
typed in the submodules — `backends` (keys, control, ledger), `providers` (providers, routes),
`gateway` (gateway limits, prices), `listeners` (server, admin_api, xks), `operations`
(telemetry, logging, comply) — and re-exported here: import them from `sumun.config`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError, model_validator

from sumun.config._base import _Strict
from sumun.config.backends import (
    DEFAULT_SOFTHSM_MODULE,
    ControlConfig,
    KeysConfig,
    LedgerConfig,
    OpenBaoConfig,
    Pkcs11Config,
)
from sumun.config.gateway import GatewayConfig, PriceConfig, PricesConfig
from sumun.config.listeners import AdminApiConfig, OidcConfig, ServerConfig, XksConfig
from sumun.config.operations import ComplyConfig, LoggingConfig, TelemetryConfig, TracesConfig
from sumun.config.providers import (
    _DEMO_PROVIDERS,
    _DEMO_ROUTES,
    ProfileConfig,
    ProviderConfig,
    RouteConfig,
    RouteTarget,
    _provider_beside,
)
from sumun.errors import ConfigError

if TYPE_CHECKING:
    from sumun.policy.rules import Policy

__all__ = [
    "DEFAULT_SOFTHSM_MODULE",
    "AdminApiConfig",
    "ComplyConfig",
    "ControlConfig",
    "GatewayConfig",
    "KeysConfig",
    "LedgerConfig",
    "LoggingConfig",
    "OidcConfig",
    "OpenBaoConfig",
    "Pkcs11Config",
    "PriceConfig",
    "PricesConfig",
    "ProfileConfig",
    "ProviderConfig",
    "RouteConfig",
    "RouteTarget",
    "ServerConfig",
    "Settings",
    "TelemetryConfig",
    "TracesConfig",
    "XksConfig",
    "admin_tls_files",
    "load",
    "load_policy",
    "policy_path",
    "read_policy",
]


class Settings(_Strict):
    home: Path
    keys: KeysConfig = KeysConfig()
    control: ControlConfig = ControlConfig()
    ledger: LedgerConfig = LedgerConfig()
    server: ServerConfig = ServerConfig()
    admin_api: AdminApiConfig = AdminApiConfig()
    gateway: GatewayConfig = GatewayConfig()
    prices: PricesConfig = PricesConfig()
    providers: tuple[ProviderConfig, ...] = _DEMO_PROVIDERS
    routes: tuple[RouteConfig, ...] = _DEMO_ROUTES
    xks: XksConfig = XksConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    logging: LoggingConfig = LoggingConfig()
    comply: ComplyConfig = ComplyConfig()
    # The policy file (sumun.policy.rules); relative to the config file's folder. None: the
    # home's `policy.yaml` when there is one, else the built-in policy.
    policy_file: Path | None = None
    config_file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _provider_files_beside_config(cls, data: Any) -> Any:
        """A provider's relative api_key_file / aws_credentials_file is in the config's folder."""
        if not isinstance(data, dict) or data.get("config_file") is None:
            return data
        providers = data.get("providers")
        if not isinstance(providers, list | tuple):
            return data
        folder = Path(data["config_file"]).parent
        return {**data, "providers": [_provider_beside(p, folder) for p in providers]}

    @model_validator(mode="after")
    def _routes_name_known_providers(self) -> Settings:
        names = [p.name for p in self.providers]
        if len(set(names)) != len(names):
            raise ValueError("provider names must be unique")
        aliases = [r.model for r in self.routes]
        if len(set(aliases)) != len(aliases):
            raise ValueError("each model alias may have only one route")
        for route in self.routes:
            for target in route.targets:
                if target.provider not in names:
                    raise ValueError(
                        f"route {route.model!r} names unknown provider {target.provider!r}"
                    )
        return self

    def secret_from_env(self, var: str) -> str | None:
        """Read a secret named by the config from the environment (never from the file)."""
        value = os.environ.get(var)
        return value if value else None


def policy_path(settings: Settings) -> Path | None:
    """The policy file these settings name (or the home's `policy.yaml`), if any."""
    if settings.policy_file is not None:
        path = settings.policy_file
        if not path.is_absolute() and settings.config_file is not None:
            path = settings.config_file.parent / path
        if not path.is_file():
            raise ConfigError(f"policy file not found: {path}")
        return path
    default = settings.home / "policy.yaml"
    return default if default.is_file() else None


def admin_tls_files(settings: Settings) -> tuple[Path, Path] | None:
    """The admin listener's certificate and key files (relative to the config file's folder),
    or None for plain HTTP. ConfigError names a file that is missing."""
    conf = settings.admin_api
    if conf.tls_cert_file is None or conf.tls_key_file is None:
        return None
    found = []
    for given in (conf.tls_cert_file, conf.tls_key_file):
        path = given
        if not path.is_absolute() and settings.config_file is not None:
            path = settings.config_file.parent / path
        if not path.is_file():
            raise ConfigError(f"admin_api TLS file not found: {path}")
        found.append(path)
    return found[0], found[1]


def load_policy(settings: Settings) -> Policy:
    """The policy in force: the policy file, validated (errors name file:line:column)."""
    from sumun.policy.rules import DEFAULT_POLICY

    path = policy_path(settings)
    return DEFAULT_POLICY if path is None else read_policy(path)


def read_policy(path: Path) -> Policy:
    """A policy file, validated; ConfigError names file:line:column and the field."""
    from sumun.policy.rules import PolicyError, parse_policy

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the policy file {path}: {exc}") from exc
    try:
        return parse_policy(text, source=str(path))
    except PolicyError as exc:
        raise ConfigError(str(exc), advice="fix the policy file and try again") from exc


def _find_file(home: Path, explicit: Path | None, env: Mapping[str, str]) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file not found: {explicit}")
        return explicit
    if env.get("SUMUN_CONFIG"):
        path = Path(env["SUMUN_CONFIG"])
        if not path.is_file():
            raise ConfigError(f"SUMUN_CONFIG names a missing file: {path}")
        return path
    for candidate in (home / "sumun.yaml", Path("sumun.yaml")):
        if candidate.is_file():
            return candidate
    return None


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    control = raw.setdefault("control", {})
    if isinstance(control, dict) and env.get("SUMUN_CONTROL_STORE"):
        control["store"] = env["SUMUN_CONTROL_STORE"]
    ledger = raw.setdefault("ledger", {})
    if isinstance(ledger, dict):
        if env.get("SUMUN_LEDGER_STORE"):
            ledger["store"] = env["SUMUN_LEDGER_STORE"]
        if env.get("SUMUN_LEDGER_DURABILITY"):
            ledger["durability"] = env["SUMUN_LEDGER_DURABILITY"]
    keys = raw.setdefault("keys", {})
    if not isinstance(keys, dict):
        return  # let validation report the wrong type
    if env.get("SUMUN_KEYS_BACKEND"):
        keys["backend"] = env["SUMUN_KEYS_BACKEND"]
    if env.get("SUMUN_KEYS_SUITE"):
        keys["suite"] = env["SUMUN_KEYS_SUITE"]
    if env.get("SUMUN_OPENBAO_ADDR"):
        keys.setdefault("openbao", {})["address"] = env["SUMUN_OPENBAO_ADDR"]
    if env.get("SUMUN_PKCS11_MODULE"):
        keys.setdefault("pkcs11", {})["module"] = env["SUMUN_PKCS11_MODULE"]
    if env.get("SUMUN_PKCS11_TOKEN"):
        keys.setdefault("pkcs11", {})["token_label"] = env["SUMUN_PKCS11_TOKEN"]


def _format_validation(path: Path | None, exc: ValidationError) -> str:
    from sumun.config_errors import line_of, node_tree  # each problem at its line

    root = node_tree(path)
    where = str(path) if path else "configuration"
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        line, _column = line_of(root, err["loc"], str(err["msg"]))
        problems.append(("" if line is None else f"line {line}: ") + f"{loc}: {err['msg']}")
    return f"{where}: " + "; ".join(problems)


def load(
    *,
    config_file: Path | None = None,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Load settings. Raises ConfigError with the offending key path on invalid input."""
    env = os.environ if env is None else env
    home = home or Path(env.get("SUMUN_HOME") or ".sumun")
    path = _find_file(home, config_file, env)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        raw = loaded
    raw.pop("home", None)  # the home is chosen by SUMUN_HOME, never by a file inside it
    _apply_env(raw, env)
    try:
        return Settings(home=home.resolve(), config_file=path, **raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation(path, exc)) from exc
    except TypeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
