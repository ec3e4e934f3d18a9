"""OpenAI chat completions <-> Anthropic messages: requests, answers and streams. Pure, no I/O.

An adapter whose upstream speaks the other wire format than its client translates the request
on the way out and the answer (or each stream event) on the way back:

    openai_to_anthropic_request      anthropic_to_openai_response     AnthropicToOpenAIStream
    anthropic_to_openai_request      openai_to_anthropic_response     OpenAIToAnthropicStream

Field names follow the official API references (OpenAI `chat.completion` /
`chat.completion.chunk`, Anthropic Messages and its streaming events). What cannot be expressed
on the other side raises `TranslationError`; see `_requests` for what is dropped and why.
"""

from sumun.gateway.translate._common import StreamFault, TranslationError
from sumun.gateway.translate._requests import (
    DEFAULT_MAX_TOKENS,
    anthropic_to_openai_request,
    openai_to_anthropic_request,
)
from sumun.gateway.translate._responses import (
    anthropic_prompt_tokens,
    anthropic_to_openai_response,
    openai_to_anthropic_response,
)
from sumun.gateway.translate._streams import AnthropicToOpenAIStream, OpenAIToAnthropicStream

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "AnthropicToOpenAIStream",
    "OpenAIToAnthropicStream",
    "StreamFault",
    "TranslationError",
    "anthropic_prompt_tokens",
    "anthropic_to_openai_request",
    "anthropic_to_openai_response",
    "openai_to_anthropic_request",
    "openai_to_anthropic_response",
]
