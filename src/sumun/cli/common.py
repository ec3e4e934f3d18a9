"""What every `sumun` command shares: options, settings, credentials, error handling.

Only the CLI exits; everything below raises SumunError. Exit codes (CONTRACTS.md): 0 ok; 1 a
check found problems or a backend failed; 2 usage or input error.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.markup import escape

from sumun.cli.render import err_console, print_json
from sumun.errors import (
    AdminChannelError,
    BackendError,
    KeystoreCorruptError,
    StateError,
    SumunError,
    UsageError,
)

if TYPE_CHECKING:  # the key target pulls in the admin channel and the gateway: load on use
    from sumun import config
    from sumun.cli.target import Credentials, KeyTarget

__all__ = [
    "JsonOpt",
    "PassOpt",
    "ShareOpt",
    "actor",
    "credentials",
    "handle_errors",
    "home_settings",
    "prompt_passphrase",
    "require_initialised",
    "settings",
    "state",
    "with_target",
]

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON object on stdout")]
ShareOpt = Annotated[
    list[str] | None,
    typer.Option("--share", help="a custodian share (repeat); prompted for when omitted"),
]
PassOpt = Annotated[
    bool, typer.Option("--passphrase", help="read the passphrase (prompt, or SUMUN_PASSPHRASE)")
]


class _State:
    home: Path | None = None
    config_file: Path | None = None


state = _State()


def settings() -> config.Settings:
    from sumun import config  # pydantic and the policy model: only for commands that need them

    return config.load(config_file=state.config_file, home=state.home)


def require_initialised(conf: config.Settings) -> None:
    """Refuse a home that `sumun init` never made: a mistyped SUMUN_HOME MUST fail here, before
    anything opens (and so creates) a directory or database in it."""
    from sumun.keys import seal
    from sumun.store.control import documents_for

    if not seal.is_initialised(documents_for(conf)):
        raise StateError(
            f"{conf.home} is not an initialised Sumun home",
            advice="check SUMUN_HOME or --home, or run `sumun init` there",
        )


def home_settings() -> config.Settings:
    """The settings of a command that acts on an existing home (every read, every key
    operation): an uninitialised home is refused, and nothing is created in it."""
    conf = settings()
    require_initialised(conf)
    return conf


def _exit_code(exc: SumunError) -> int:
    if isinstance(exc, BackendError | KeystoreCorruptError | AdminChannelError):
        return 1
    return 2


def handle_errors(fn: F) -> F:
    """Turn SumunError into the contract's exit code and one line on stderr; under `--json`
    also one object on stdout, in the admin API's shape
    (`{"error": {"type": "<error class>", "message": "…"}}`), for the script reading it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SumunError as exc:
            if kwargs.get("json_out"):
                print_json({"error": {"type": type(exc).__name__, "message": str(exc)}})
            err_console.print(
                f"[red]error:[/] {escape(str(exc))}",
                markup=True,
                highlight=False,
                soft_wrap=True,  # one line, however long the home's path
            )
            raise typer.Exit(_exit_code(exc)) from None

    return wrapper  # type: ignore[return-value]


def _prompt_share(number: int, threshold: int) -> str:
    if not sys.stdin.isatty():
        raise UsageError(f"{threshold} custodian shares are needed: pass them with --share")
    return str(typer.prompt(f"Custodian share {number} of {threshold}", hide_input=True))


def interactive() -> bool:
    """Is a person at a terminal to type into a prompt?"""
    return sys.stdin.isatty()


_NEW_PASSPHRASE_TRIES = 3


def prompt_passphrase(*, new: bool = False) -> str:
    """The passphrase from SUMUN_PASSPHRASE or the terminal. A `new` one must pass the policy
    (`sumun.crypto.passphrase_policy`) and, at a terminal, be typed twice; its estimated
    strength is shown on stderr either way."""
    from sumun.crypto.passphrase_policy import check_passphrase

    env = os.environ.get("SUMUN_PASSPHRASE")
    if env:
        if new:
            check_passphrase(env)
            _show_strength(env)
        return env
    if not interactive():
        raise UsageError("the passphrase is needed: set SUMUN_PASSPHRASE or run in a terminal")
    if new:
        return _prompt_new_passphrase()
    return str(typer.prompt("Passphrase", hide_input=True))


def _prompt_new_passphrase() -> str:
    """Ask until a passphrase passes the policy and is typed the same twice (a few tries)."""
    from sumun.crypto.kdf import normalise_passphrase
    from sumun.crypto.passphrase_policy import MIN_CHARACTERS, check_passphrase

    for _ in range(_NEW_PASSPHRASE_TRIES):
        first = str(
            typer.prompt(
                f"New passphrase (at least {MIN_CHARACTERS} characters; several words)",
                hide_input=True,
            )
        )
        try:
            check_passphrase(first)
        except UsageError as exc:
            err_console.print(f"[red]{escape(str(exc))}[/]; try another", highlight=False)
            continue
        _show_strength(first)
        second = str(typer.prompt("Type it again", hide_input=True))
        # Compared as the KDF sees them: NFC, so Hangul typed composed or decomposed matches.
        if second.strip() and normalise_passphrase(second) == normalise_passphrase(first):
            return first
        err_console.print("[red]the two passphrases do not match[/]; start again")
    raise UsageError(
        f"no passphrase was set after {_NEW_PASSPHRASE_TRIES} tries",
        advice="run `sumun init --passphrase` again",
    )


def _show_strength(passphrase: str) -> None:
    from sumun.crypto.passphrase_policy import estimate_strength

    strength = estimate_strength(passphrase)
    style = {"weak": "red", "fair": "yellow", "strong": "green"}[strength.rating]
    err_console.print(
        f"strength: [{style}]{strength.rating}[/] — about {strength.bits} bits "
        "(a rough estimate; more words make it stronger)",
        highlight=False,
    )


def credentials(shares: list[str] | None, passphrase: bool = False) -> Credentials:
    from sumun.cli.target import Credentials

    return Credentials(
        shares=tuple(shares or ()),
        passphrase=prompt_passphrase() if passphrase else None,
        prompt_share=_prompt_share,
        prompt_passphrase=prompt_passphrase,
    )


def actor() -> str:
    try:
        import getpass

        return f"{getpass.getuser()}@cli"
    except (KeyError, OSError):
        return f"uid:{os.getuid()}@cli"


def with_target(shares: list[str] | None, passphrase: bool) -> KeyTarget:
    from sumun.cli.target import open_target

    return open_target(home_settings(), credentials(shares, passphrase), actor())
