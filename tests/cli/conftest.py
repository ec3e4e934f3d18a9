"""Shared CLI fixtures: a fresh SUMUN_HOME (real `sumun` processes); a running server."""

from tests.cli.test_cli_keys import cli, server

__all__ = ["cli", "server"]
