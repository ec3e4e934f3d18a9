"""Upstream credentials that may change while Sumun runs: an API key or token, AWS keys.

A running process's environment never changes, so a credential taken from an environment
variable is fixed for the adapter's life. Short-lived credentials — a Vertex AI access token
(about an hour), AWS STS temporary credentials — come from a file instead (`api_key_file`,
`aws_credentials_file`) that something else renews: a systemd timer, a sidecar, a Kubernetes
projected token. The file is re-read when it changes, with no reload:

- its stat (mtime_ns, size, inode) is looked at no more than once per second per adapter, and
  the file is read only when that changed — never a read per request;
- at build (startup, reload) a file that is missing, empty, unreadable or readable by group or
  others is a ConfigError;
- later, a file that vanishes, empties, cannot be parsed or is opened up to others keeps the
  last good value, with one warning (naming the file, never the value) until it is good again.

The file is read whole and small, on the event loop: it changes about once an hour.
"""

from __future__ import annotations

import configparser
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from sumun.config import ProviderConfig
from sumun.errors import ConfigError

__all__ = [
    "AwsCredentials",
    "AwsCredentialsSource",
    "CredentialFile",
    "Secret",
    "api_secret",
    "aws_credentials",
]

_LOG = logging.getLogger("sumun.gateway.credentials")
CHECK_SECONDS = 1.0  # a file's stat is looked at no more often than this
_MAX_BYTES = 64 * 1024  # a token or a credentials file; anything larger is not one
_SESSION_TOKEN_ENV = "AWS_SESSION_TOKEN"  # noqa: S105 - a variable's name, not a secret

T = TypeVar("T")


class _UnusableError(Exception):
    """The file cannot be used (the message names the problem, never the value)."""


class CredentialFile(Generic[T]):
    """A credential read from a file, re-read when the file changes.

    `parse` turns the file's text into the value, or raises ValueError with a message that never
    quotes the content. The first read happens here: any problem is a ConfigError naming the
    provider and the file (never the content).
    """

    def __init__(
        self,
        path: Path,
        parse: Callable[[str], T],
        *,
        provider: str,
        setting: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._parse = parse
        self._provider = provider
        self._setting = setting
        self._clock = clock
        try:
            self._value, self._seen = self._read()
        except _UnusableError as exc:
            raise ConfigError(
                f"provider {provider!r}: {setting} {path}: {exc}",
                advice=_advice(str(exc)),
            ) from exc
        self._checked = clock()
        self._warned = False

    def current(self) -> T:
        """The latest good value: the file is looked at again once a second at most."""
        now = self._clock()
        if now - self._checked < CHECK_SECONDS:
            return self._value
        self._checked = now
        try:
            seen = _signature(os.stat(self.path))
        except OSError as exc:
            self._warn(f"cannot be read ({exc.strerror or type(exc).__name__})")
            return self._value
        if seen == self._seen:
            return self._value
        try:
            self._value, self._seen = self._read()
        except _UnusableError as exc:
            self._seen = seen  # not read again until it changes again
            self._warn(str(exc))
            return self._value
        if self._warned:
            _LOG.info("provider %s: %s %s is good again", self._provider, self._setting, self.path)
        self._warned = False
        return self._value

    def _read(self) -> tuple[T, tuple[int, int, int]]:
        try:
            with self.path.open("rb") as file:
                info = os.fstat(file.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise _UnusableError("is not a regular file")
                if info.st_mode & 0o077:
                    mode = stat.S_IMODE(info.st_mode)
                    raise _UnusableError(f"may be read by group or others (mode {mode:04o})")
                raw = file.read(_MAX_BYTES + 1)
        except OSError as exc:
            raise _UnusableError(f"cannot be read ({exc.strerror or type(exc).__name__})") from exc
        if len(raw) > _MAX_BYTES:
            raise _UnusableError(f"is larger than {_MAX_BYTES} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _UnusableError("is not UTF-8 text") from exc
        try:
            value = self._parse(text)
        except ValueError as exc:
            raise _UnusableError(str(exc)) from exc
        return value, _signature(info)

    def _warn(self, problem: str) -> None:
        if not self._warned:
            _LOG.warning(
                "provider %s: %s %s %s; the last good credential is still used",
                self._provider,
                self._setting,
                self.path,
                problem,
            )
        self._warned = True


def _signature(info: os.stat_result) -> tuple[int, int, int]:
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def _advice(problem: str) -> str:
    if "group or others" in problem:
        return "chmod 600 the file (only Sumun's user may read it)"
    return "write the credential into that file, readable only by Sumun's user: chmod 600"


def _token(text: str) -> str:
    value = text.strip()
    if not value:
        raise ValueError("is empty")
    if any(c.isspace() for c in value):
        raise ValueError("holds more than one word (a key or token has no white space)")
    return value


class Secret:
    """An upstream API key or access token: fixed (from a variable) or from a file.

    `origin` names where it comes from, for error messages (`VERTEX_ACCESS_TOKEN`, or the
    file's path); it is never the value.
    """

    def __init__(
        self, *, value: str | None = None, file: CredentialFile[str] | None = None, origin: str = ""
    ) -> None:
        self._value = value
        self._file = file
        self.origin = origin

    def current(self) -> str | None:
        """The key to send now (None: the provider takes none)."""
        return self._file.current() if self._file is not None else self._value


def api_secret(config: ProviderConfig, *, clock: Callable[[], float] = time.monotonic) -> Secret:
    """The provider's key or token: from `api_key_file`, `api_key_env`, or none at all."""
    if config.api_key_file is not None:
        path = Path(config.api_key_file)
        file = CredentialFile(
            path, _token, provider=config.name, setting="api_key_file", clock=clock
        )
        return Secret(file=file, origin=str(path))
    if config.api_key_env is None:
        return Secret()
    value = os.environ.get(config.api_key_env)
    if not value:
        raise ConfigError(
            f"provider {config.name!r}: environment variable {config.api_key_env} is not set",
            advice="export the upstream API key in that variable, or remove api_key_env",
        )
    return Secret(value=value, origin=config.api_key_env)


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:  # never the keys, should one ever be logged
        return "AwsCredentials(…)"

    def secrets(self) -> tuple[str, ...]:
        """What is scrubbed from any upstream message passed on."""
        return tuple(s for s in (self.access_key, self.secret_key, self.token) if s)


def _aws_profile(profile: str) -> Callable[[str], AwsCredentials]:
    """A parser of the AWS shared credentials file (INI), reading one profile's section."""

    def parse(text: str) -> AwsCredentials:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error as exc:
            raise ValueError(f"is not an AWS credentials file ({type(exc).__name__})") from exc
        if not parser.has_section(profile):
            raise ValueError(f"has no [{profile}] section")
        section = parser[profile]
        access = section.get("aws_access_key_id", "").strip()
        secret = section.get("aws_secret_access_key", "").strip()
        if not access or not secret:
            raise ValueError(f"[{profile}] lacks aws_access_key_id or aws_secret_access_key")
        token = section.get("aws_session_token", "").strip() or None
        return AwsCredentials(access, secret, token)

    return parse


class AwsCredentialsSource:
    """AWS keys for SigV4: fixed (from the environment) or from a shared credentials file."""

    def __init__(
        self,
        *,
        value: AwsCredentials | None = None,
        file: CredentialFile[AwsCredentials] | None = None,
    ) -> None:
        if (value is None) == (file is None):
            raise ValueError("exactly one of value and file")
        self._value = value
        self._file = file

    def current(self) -> AwsCredentials:
        if self._file is not None:
            return self._file.current()
        assert self._value is not None  # noqa: S101 - guaranteed by __init__
        return self._value


def aws_credentials(
    config: ProviderConfig, *, clock: Callable[[], float] = time.monotonic
) -> AwsCredentialsSource:
    """A bedrock provider's AWS credentials: `aws_credentials_file`, or environment variables
    (the AWS_* standard ones, or those the aws_*_env settings name)."""
    if config.aws_credentials_file is not None:
        profile = config.aws_profile or "default"
        file = CredentialFile(
            Path(config.aws_credentials_file),
            _aws_profile(profile),
            provider=config.name,
            setting="aws_credentials_file",
            clock=clock,
        )
        return AwsCredentialsSource(file=file)
    access = config.aws_access_key_id_env or "AWS_ACCESS_KEY_ID"
    secret = config.aws_secret_access_key_env or "AWS_SECRET_ACCESS_KEY"
    # The standard session-token variable is optional, and only read beside the standard key
    # variables: a provider with its own key variables must not pick up another's token.
    token_env = config.aws_session_token_env
    if token_env is None and config.aws_access_key_id_env is None:
        token_env = _SESSION_TOKEN_ENV
    token = None
    if token_env is not None:
        token = _env(token_env, config.name, required=config.aws_session_token_env is not None)
    value = AwsCredentials(
        str(_env(access, config.name, required=True)),
        str(_env(secret, config.name, required=True)),
        token,
    )
    return AwsCredentialsSource(value=value)


def _env(name: str, provider: str, *, required: bool) -> str | None:
    value = os.environ.get(name)
    if not value and required:
        raise ConfigError(
            f"provider {provider!r} (bedrock): environment variable {name} is not set",
            advice="export the AWS credentials in the environment Sumun runs in, name other "
            "variables with aws_access_key_id_env / aws_secret_access_key_env, or use "
            "aws_credentials_file",
        )
    return value or None
