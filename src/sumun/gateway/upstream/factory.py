"""Build the adapter a provider's configuration asks for."""

from __future__ import annotations

from sumun.config import ProviderConfig
from sumun.gateway.upstream.anthropic import AnthropicAdapter
from sumun.gateway.upstream.base import ProviderAdapter
from sumun.gateway.upstream.bedrock import BedrockAdapter
from sumun.gateway.upstream.clova import ClovaAdapter
from sumun.gateway.upstream.demo import DemoAdapter
from sumun.gateway.upstream.gemini import GeminiAdapter
from sumun.gateway.upstream.openai_compat import OpenAICompatAdapter

__all__ = ["make_adapter"]


def make_adapter(config: ProviderConfig) -> ProviderAdapter:
    """The adapter for `config.kind`. ConfigError when the provider is incompletely configured
    (no base_url, an API key variable that is not set, Azure without api_version)."""
    adapter: ProviderAdapter
    match config.kind:
        case "openai" | "azure":
            adapter = OpenAICompatAdapter(config)
        case "anthropic":
            adapter = AnthropicAdapter(config)
        case "demo":
            adapter = DemoAdapter(config)
        case "gemini" | "vertex":
            adapter = GeminiAdapter(config)
        case "clova":
            adapter = ClovaAdapter(config)
        case "bedrock":
            adapter = BedrockAdapter(config)
    return adapter
