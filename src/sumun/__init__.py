"""Sumun (수문, "the gate"): a self-hosted sovereign AI gateway and control plane."""

__version__ = "0.1.0"
__all__ = ["__version__"]
