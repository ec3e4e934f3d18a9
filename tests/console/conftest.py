"""The console tests' fixtures (defined in support.py): one `sumun demo` process per test
module, Debian's Chromium per module, a fresh browser context per test."""

from tests.console.support import browser, context, demo

__all__ = ["browser", "context", "demo"]
