"""Provider adapters: OpenAI-compatible (incl. Azure), Anthropic native, and the demo provider."""
