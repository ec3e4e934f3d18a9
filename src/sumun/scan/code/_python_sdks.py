"""The Python SDKs and calls the Python analyzer recognises, as data.

Qualified names are what `python._Analysis.qualify` produces after resolving import aliases
(`import openai as oa; oa.OpenAI` -> `openai.OpenAI`). Provider ids are the jurisdiction
table's. Adding an SDK means adding a row here, not code.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "BEDROCK_SERVICES",
    "CLIENTS",
    "ENDPOINT_KWARGS",
    "GETENV",
    "HUB_LOADERS",
    "LANGCHAIN",
    "LITELLM",
    "LITELLM_CALLS",
    "MODEL_KWARGS",
    "PICKLE_CALLS",
    "REGION_KWARGS",
    "TORCH_LOAD",
    "Client",
]

ENDPOINT_KWARGS = (
    "base_url",
    "azure_endpoint",
    "api_base",
    "openai_api_base",
    "endpoint",
    "endpoint_url",
    "server_url",
    "host",
    "api_host",
    "api_endpoint",
    "inference_server_url",
)
REGION_KWARGS = ("region_name", "aws_region", "region", "location")
MODEL_KWARGS = ("model", "model_name", "model_id", "modelId", "repo_id", "deployment_name")


@dataclass(frozen=True, slots=True)
class Client:
    provider: str | None  # None: decided by the call (google.genai.Client)
    dist: str


# Qualified constructor / function -> provider it talks to by default.
CLIENTS = MappingProxyType(
    {
        "openai.OpenAI": Client("openai", "openai"),
        "openai.AsyncOpenAI": Client("openai", "openai"),
        "openai.Client": Client("openai", "openai"),
        "openai.AzureOpenAI": Client("azure-openai", "openai"),
        "openai.AsyncAzureOpenAI": Client("azure-openai", "openai"),
        "anthropic.Anthropic": Client("anthropic", "anthropic"),
        "anthropic.AsyncAnthropic": Client("anthropic", "anthropic"),
        "anthropic.AnthropicBedrock": Client("aws-bedrock", "anthropic"),
        "anthropic.AsyncAnthropicBedrock": Client("aws-bedrock", "anthropic"),
        "anthropic.AnthropicVertex": Client("google-vertex", "anthropic"),
        "anthropic.AsyncAnthropicVertex": Client("google-vertex", "anthropic"),
        "vertexai.init": Client("google-vertex", "google-cloud-aiplatform"),
        "google.cloud.aiplatform.init": Client("google-vertex", "google-cloud-aiplatform"),
        "google.genai.Client": Client(None, "google-genai"),
        "google.generativeai.configure": Client("google-gemini", "google-generativeai"),
        "mistralai.Mistral": Client("mistral", "mistralai"),
        "mistralai.client.MistralClient": Client("mistral", "mistralai"),
        "cohere.Client": Client("cohere", "cohere"),
        "cohere.ClientV2": Client("cohere", "cohere"),
        "cohere.AsyncClient": Client("cohere", "cohere"),
        "cohere.AsyncClientV2": Client("cohere", "cohere"),
        "groq.Groq": Client("groq", "groq"),
        "groq.AsyncGroq": Client("groq", "groq"),
        "together.Together": Client("together", "together"),
        "together.AsyncTogether": Client("together", "together"),
        "xai_sdk.Client": Client("xai", "xai-sdk"),
        "xai_sdk.AsyncClient": Client("xai", "xai-sdk"),
        "ollama.Client": Client("ollama", "ollama"),
        "ollama.AsyncClient": Client("ollama", "ollama"),
        "ollama.chat": Client("ollama", "ollama"),
        "ollama.generate": Client("ollama", "ollama"),
        "ollama.embed": Client("ollama", "ollama"),
        "ollama.embeddings": Client("ollama", "ollama"),
        "huggingface_hub.InferenceClient": Client("huggingface", "huggingface-hub"),
        "huggingface_hub.AsyncInferenceClient": Client("huggingface", "huggingface-hub"),
        "dashscope.Generation.call": Client("alibaba-qwen", "dashscope"),
        "dashscope.MultiModalConversation.call": Client("alibaba-qwen", "dashscope"),
        "vllm.LLM": Client("vllm", "vllm"),
        "llama_cpp.Llama": Client("self-hosted", "llama-cpp-python"),
        "azure.ai.inference.ChatCompletionsClient": Client("azure-openai", "azure-ai-inference"),
    }
)

# LangChain integration classes (any langchain_* module) -> provider.
LANGCHAIN = MappingProxyType(
    {
        **dict.fromkeys(("ChatOpenAI", "OpenAI", "OpenAIEmbeddings"), "openai"),
        **dict.fromkeys(
            (
                "AzureChatOpenAI",
                "AzureOpenAI",
                "AzureOpenAIEmbeddings",
                "AzureAIChatCompletionsModel",
            ),
            "azure-openai",
        ),
        **dict.fromkeys(("ChatAnthropic", "AnthropicLLM"), "anthropic"),
        **dict.fromkeys(
            (
                "ChatBedrock",
                "ChatBedrockConverse",
                "BedrockChat",
                "BedrockLLM",
                "Bedrock",
                "BedrockEmbeddings",
            ),
            "aws-bedrock",
        ),
        **dict.fromkeys(("ChatVertexAI", "VertexAI", "VertexAIEmbeddings"), "google-vertex"),
        **dict.fromkeys(
            ("ChatGoogleGenerativeAI", "GoogleGenerativeAIEmbeddings"), "google-gemini"
        ),
        **dict.fromkeys(("ChatOllama", "OllamaLLM", "Ollama", "OllamaEmbeddings"), "ollama"),
        **dict.fromkeys(("ChatClovaX", "ClovaXEmbeddings", "ClovaEmbeddings"), "naver-clova"),
        **dict.fromkeys(("ChatUpstage", "UpstageEmbeddings"), "upstage"),
        **dict.fromkeys(("ChatTongyi", "Tongyi", "DashScopeEmbeddings"), "alibaba-qwen"),
        **dict.fromkeys(("ChatMistralAI", "MistralAIEmbeddings"), "mistral"),
        **dict.fromkeys(("ChatCohere", "CohereEmbeddings"), "cohere"),
        "ChatDeepSeek": "deepseek",
        "ChatXAI": "xai",
        "ChatGroq": "groq",
        "ChatTogether": "together",
        **dict.fromkeys(("HuggingFaceEndpoint", "HuggingFaceHub"), "huggingface"),
        **dict.fromkeys(("VLLM", "VLLMOpenAI"), "vllm"),
        "LlamaCpp": "self-hosted",
    }
)

# LiteLLM routing prefixes (`bedrock/anthropic.claude-…`) -> provider.
LITELLM = MappingProxyType(
    {
        "openai": "openai",
        "azure": "azure-openai",
        "azure_ai": "azure-openai",
        "anthropic": "anthropic",
        "bedrock": "aws-bedrock",
        "bedrock_converse": "aws-bedrock",
        "vertex_ai": "google-vertex",
        "vertex_ai_beta": "google-vertex",
        "gemini": "google-gemini",
        "mistral": "mistral",
        "deepseek": "deepseek",
        "cohere": "cohere",
        "cohere_chat": "cohere",
        "xai": "xai",
        "groq": "groq",
        "together_ai": "together",
        "huggingface": "huggingface",
        "ollama": "ollama",
        "ollama_chat": "ollama",
        "dashscope": "alibaba-qwen",
        "hosted_vllm": "vllm",
    }
)
LITELLM_CALLS = ("completion", "acompletion", "embedding", "aembedding", "text_completion")

HUB_LOADERS = (
    "transformers.pipeline",
    "sentence_transformers.SentenceTransformer",
    "sentence_transformers.CrossEncoder",
    "huggingface_hub.hf_hub_download",
    "huggingface_hub.snapshot_download",
    "vllm.LLM",
)
PICKLE_CALLS = frozenset(
    f"{mod}.{fn}"
    for mod in ("pickle", "cPickle", "_pickle", "dill", "cloudpickle")
    for fn in ("load", "loads", "Unpickler")
) | {"joblib.load", "pandas.read_pickle", "torch.serialization.load"}
TORCH_LOAD = frozenset({"torch.load"})
BEDROCK_SERVICES = frozenset(
    {"bedrock-runtime", "bedrock", "bedrock-agent-runtime", "bedrock-agent"}
)
GETENV = frozenset({"os.getenv", "os.environ.get"})
