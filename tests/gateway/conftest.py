"""The end-to-end gateway fixture lives in harness.py."""

from tests.gateway.harness import gateway

__all__ = ["gateway"]
