"""Corpus for the code and config analyzers: AI SDK use in Python, JS/TS, Java/Kotlin, Go and
configuration files, labelled benign / malicious / broken.

"malicious" here means a finding that must be high or critical: `trust_remote_code=True`,
`torch.load` without `weights_only=True`, hard-coded API keys. "benign" files use the SDKs the
way their docs recommend (keys from the environment, `weights_only=True`, pinned revisions) and
must yield components but no high/critical finding. "broken" files must yield a `.parse-error`.

Fake keys are obviously fake (they contain `SumunFake`) but match the real formats. They are
assembled here at generation time from pieces, so no key-shaped literal sits in the repository
(secret scanners and push protection would rightly object). `fake_secrets()` returns them so
tests can assert that none ever appears in the scanner's output.
"""

from __future__ import annotations

import random
import string
import textwrap
from pathlib import Path

Sample = tuple[str, str, str]

__all__ = ["Sample", "fake_secrets", "generate"]

_SEED = 20261126
_ALNUM = string.ascii_letters + string.digits


def _rng(salt: str) -> random.Random:
    return random.Random(f"{_SEED}:{salt}")


def _body(salt: str, n: int, alphabet: str = _ALNUM) -> str:
    rng = _rng(salt)
    return "".join(rng.choice(alphabet) for _ in range(n))


def _hex(salt: str, n: int = 40) -> str:
    return _body(salt, n, "0123456789abcdef")


def fake_secrets() -> dict[str, str]:
    """Every fake key the corpus contains, by kind (deterministic)."""
    upper = string.ascii_uppercase + string.digits
    return {
        "openai": "sk" + "-proj-" + "SumunFake" + _body("openai", 40),
        "anthropic": "sk" + "-ant-" + "api03-" + "SumunFake" + _body("anthropic", 80) + "AA",
        "aws_id": "AK" + "IA" + "SUMUNFAKE" + _body("aws-id", 7, upper),
        "aws_secret": _body("aws-s1", 12) + "SumunFake" + _body("aws-s2", 17) + "/+",
        "google": "AI" + "za" + "SumunFake" + _body("google", 26),
        "huggingface": "hf" + "_" + "SumunFake" + _body("hf", 25),
        "azure": _hex("azure", 32),
        "generic": "SumunFake" + _body("generic", 24),
        "upstage": "up" + "_" + "SumunFake" + _body("upstage", 24),
        "openai_legacy": "sk" + "-" + "SumunFake" + _body("legacy", 39),
    }


def _t(text: str) -> str:
    """A dedented block: the corpus files read like the code they are."""
    return textwrap.dedent(text)


def _benign(pin: str, pin2: str) -> dict[str, tuple[str, str]]:
    """path -> (technique, text)"""
    return {
        "python/openai_env.py": (
            "OpenAI client, key from the environment",
            _t(
                """\
                import os
                from openai import OpenAI

                client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])
                reply = client.chat.completions.create(model="gpt-4o-mini", messages=[])
                """
            ),
        ),
        "python/azure_korea.py": (
            "Azure OpenAI with an endpoint constant",
            _t(
                """\
                import os
                import openai as oa

                ENDPOINT = "https://contoso-kc.openai.azure.com/"
                client = oa.AzureOpenAI(azure_endpoint=ENDPOINT, api_version="2024-10-21",
                                        api_key=os.getenv("AZURE_OPENAI_API_KEY"))
                client.chat.completions.create(model="gpt-4o", messages=[])
                """
            ),
        ),
        "python/anthropic_alias.py": (
            "Anthropic SDK imported under an alias",
            _t(
                """\
                import anthropic as ant

                c = ant.Anthropic()
                c.messages.create(model="claude-3-5-sonnet-20241022", max_tokens=256, messages=[])
                """
            ),
        ),
        "python/bedrock_seoul.py": (
            "boto3 bedrock-runtime in ap-northeast-2",
            _t(
                """\
                import boto3

                rt = boto3.client("bedrock-runtime", region_name="ap-northeast-2")
                rt.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=[])
                """
            ),
        ),
        "python/vertex_seoul.py": (
            "Vertex AI in asia-northeast3",
            _t(
                """\
                import vertexai
                from vertexai.generative_models import GenerativeModel

                vertexai.init(project="demo", location="asia-northeast3")
                model = GenerativeModel("gemini-1.5-pro")
                """
            ),
        ),
        "python/genai_client.py": (
            "google-genai client with an env key",
            _t(
                """\
                import os
                from google import genai

                client = genai.Client(api_key=os.environ["GEMINI_API_KEY"])
                client.models.generate_content(model="gemini-2.0-flash", contents="hi")
                """
            ),
        ),
        "python/langchain_mix.py": (
            "LangChain OpenAI, Anthropic and Bedrock integrations",
            _t(
                """\
                from langchain_openai import ChatOpenAI
                from langchain_anthropic import ChatAnthropic
                from langchain_aws import ChatBedrock

                a = ChatOpenAI(model="gpt-4o")
                b = ChatAnthropic(model="claude-3-5-haiku-latest")
                c = ChatBedrock(
                    model_id="meta.llama3-70b-instruct-v1:0", region_name="ap-northeast-2"
                )
                """
            ),
        ),
        "python/exaone_pinned.py": (
            "transformers from_pretrained with a pinned commit",
            _t(
                f"""\
                from transformers import AutoModelForCausalLM, AutoTokenizer

                MODEL = "LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct"
                REV = "{pin}"
                tok = AutoTokenizer.from_pretrained(MODEL, revision=REV)
                model = AutoModelForCausalLM.from_pretrained(MODEL, revision=REV)
                """
            ),
        ),
        "python/sentence_pinned.py": (
            "sentence-transformers with a pinned commit",
            _t(
                f"""\
                from sentence_transformers import SentenceTransformer

                NAME = "sentence-transformers/all-MiniLM-L6-v2"
                emb = SentenceTransformer(NAME, revision="{pin2}")
                """
            ),
        ),
        "python/torch_safe.py": (
            "torch.load with weights_only=True",
            _t(
                """\
                import torch

                def load(path):
                    return torch.load(path, weights_only=True)
                """
            ),
        ),
        "python/ollama_local.py": (
            "Ollama on localhost through the OpenAI SDK and the ollama package",
            _t(
                """\
                import ollama
                from openai import OpenAI

                local = OpenAI(base_url="http://localhost:11434/v1", api_key="ollama")
                ollama.chat(model="exaone3.5:7.8b", messages=[])
                """
            ),
        ),
        "python/litellm_bedrock.py": (
            "LiteLLM routed to Bedrock",
            _t(
                """\
                import litellm

                MODEL = "bedrock/anthropic.claude-3-sonnet-20240229-v1:0"
                litellm.completion(model=MODEL, messages=[])
                """
            ),
        ),
        "python/upstage_solar.py": (
            "OpenAI SDK pointed at Upstage's Korea region",
            _t(
                """\
                import os
                from openai import OpenAI

                solar = OpenAI(
                    base_url="https://kr.api.upstage.ai/v1", api_key=os.environ["UPSTAGE_API_KEY"]
                )
                solar.chat.completions.create(model="solar-pro", messages=[])
                """
            ),
        ),
        "python/clova_requests.py": (
            "HTTP call to CLOVA Studio",
            _t(
                """\
                import os
                import requests

                URL = "https://clovastudio.stream.ntruss.com/v3/chat-completions/HCX-005"
                headers = {"Authorization": "Bearer " + os.environ["CLOVASTUDIO_API_KEY"]}
                requests.post(URL, headers=headers, json={}, timeout=30)
                """
            ),
        ),
        "python/qwen_dashscope.py": (
            "DashScope international endpoint",
            _t(
                """\
                from openai import OpenAI

                BASE = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
                qwen = OpenAI(base_url=BASE)
                qwen.chat.completions.create(model="qwen-plus", messages=[])
                """
            ),
        ),
        "python/hf_download_pinned.py": (
            "hf_hub_download with a pinned revision",
            _t(
                f"""\
                from huggingface_hub import hf_hub_download

                path = hf_hub_download(
                    repo_id="skt/A.X-4.0-Light", filename="config.json", revision="{pin}"
                )
                """
            ),
        ),
        "python/pickle_static.py": (
            "pickle of a file shipped with the code (scanned on its own) next to a safe load",
            _t(
                """\
                import pickle
                import torch

                labels = pickle.load(open("labels.pkl", "rb"))
                state = torch.load("weights.pt", weights_only=True)
                """
            ),
        ),
        "js/openai_client.ts": (
            "openai npm client",
            _t(
                """\
                import OpenAI from "openai";

                const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });
                await client.responses.create({ model: "gpt-4o-mini", input: "hi" });
                """
            ),
        ),
        "js/anthropic.mjs": (
            "@anthropic-ai/sdk",
            _t(
                """\
                import Anthropic from '@anthropic-ai/sdk';
                const a = new Anthropic();
                await a.messages.create({
                  model: 'claude-3-5-sonnet-latest', max_tokens: 64, messages: [],
                });
                """
            ),
        ),
        "js/bedrock.js": (
            "Bedrock runtime client in Seoul",
            _t(
                """\
                const {
                  BedrockRuntimeClient, ConverseCommand,
                } = require("@aws-sdk/client-bedrock-runtime");
                const client = new BedrockRuntimeClient({ region: "ap-northeast-2" });
                const modelId = "anthropic.claude-3-haiku-20240307-v1:0";
                await client.send(new ConverseCommand({ modelId, messages: [] }));
                """
            ),
        ),
        "js/vertex.ts": (
            "@google-cloud/vertexai in asia-northeast3",
            _t(
                """\
                import { VertexAI } from "@google-cloud/vertexai";
                const v = new VertexAI({ project: "demo", location: "asia-northeast3" });
                const m = v.getGenerativeModel({ model: "gemini-1.5-flash" });
                """
            ),
        ),
        "js/genai.js": (
            "@google/genai",
            _t(
                """\
                import { GoogleGenAI } from "@google/genai";
                const ai = new GoogleGenAI({ apiKey: process.env.GEMINI_API_KEY });
                await ai.models.generateContent({ model: "gemini-2.0-flash", contents: "hi" });
                """
            ),
        ),
        "js/azure.tsx": (
            "OpenAI SDK against an Azure endpoint",
            _t(
                """\
                import { AzureOpenAI } from "openai";
                const client = new AzureOpenAI({
                  endpoint: "https://contoso.openai.azure.com/", apiVersion: "2024-10-21",
                });
                """
            ),
        ),
        "js/langchain.ts": (
            "LangChain JS",
            _t(
                """\
                import { ChatOpenAI } from "@langchain/openai";
                import { ChatAnthropic } from "@langchain/anthropic";
                const llm = new ChatOpenAI({ model: "gpt-4o" });
                """
            ),
        ),
        "java/OpenAiExample.java": (
            "openai-java",
            _t(
                """\
                package demo;

                import com.openai.client.OpenAIClient;
                import com.openai.client.okhttp.OpenAIOkHttpClient;

                public class OpenAiExample {
                  OpenAIClient client = OpenAIOkHttpClient.fromEnv();
                  String model = "gpt-4o";
                }
                """
            ),
        ),
        "java/BedrockExample.java": (
            "AWS SDK bedrockruntime in AP_NORTHEAST_2",
            _t(
                """\
                package demo;

                import software.amazon.awssdk.regions.Region;
                import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;

                public class BedrockExample {
                  BedrockRuntimeClient c =
                      BedrockRuntimeClient.builder().region(Region.AP_NORTHEAST_2).build();
                  String modelId = "anthropic.claude-3-5-sonnet-20240620-v1:0";
                }
                """
            ),
        ),
        "java/VertexExample.java": (
            "Vertex AI Java SDK",
            _t(
                """\
                package demo;

                import com.google.cloud.vertexai.VertexAI;
                import com.google.cloud.vertexai.generativeai.GenerativeModel;

                public class VertexExample {
                  VertexAI v = new VertexAI("demo", "asia-northeast3");
                  GenerativeModel m = new GenerativeModel("gemini-1.5-pro", v);
                }
                """
            ),
        ),
        "java/SpringAi.kt": (
            "Spring AI OpenAI module in Kotlin",
            _t(
                """\
                package demo

                import org.springframework.ai.openai.OpenAiChatModel

                class Chat(val model: OpenAiChatModel)
                """
            ),
        ),
        "go/openai.go": (
            "openai-go",
            _t(
                """\
                package main

                import (
                \t"context"
                \t"github.com/openai/openai-go"
                )

                func main() {
                \tc := openai.NewClient()
                \t_ = c
                \t_ = context.TODO()
                \tmodel := "gpt-4o"
                \t_ = model
                }
                """
            ),
        ),
        "go/anthropic.go": (
            "anthropic-sdk-go",
            _t(
                """\
                package main

                import "github.com/anthropics/anthropic-sdk-go"

                func main() {
                \tc := anthropic.NewClient()
                \t_ = c
                \t_ = anthropic.MessageNewParams{Model: "claude-3-7-sonnet-latest"}
                }
                """
            ),
        ),
        "go/bedrock.go": (
            "aws-sdk-go-v2 bedrockruntime in Seoul",
            _t(
                """\
                package main

                import (
                \t"github.com/aws/aws-sdk-go-v2/config"
                \t"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
                )

                func main() {
                \tcfg, _ := config.LoadDefaultConfig(ctx, config.WithRegion("ap-northeast-2"))
                \t_ = bedrockruntime.NewFromConfig(cfg)
                }
                """
            ),
        ),
        "go/genai.go": (
            "google.golang.org/genai",
            _t(
                """\
                package main

                import "google.golang.org/genai"

                func main() {
                \t_, _ = genai.NewClient(ctx, nil)
                }
                """
            ),
        ),
        "config/.env": (
            ".env with empty keys and a model",
            _t(
                """\
                # filled in by the deployment
                OPENAI_API_KEY=
                OPENAI_MODEL=gpt-4o-mini
                ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY}
                """
            ),
        ),
        "config/azure.env": (
            "Azure endpoint and Korea Central region",
            _t(
                """\
                AZURE_OPENAI_ENDPOINT=https://contoso.openai.azure.com/
                AZURE_OPENAI_REGION=koreacentral
                AZURE_OPENAI_DEPLOYMENT=gpt-4o
                """
            ),
        ),
        "config/settings.yaml": (
            "YAML with a CLOVA endpoint and model",
            _t(
                """\
                llm:
                  base_url: https://clovastudio.stream.ntruss.com/v3/chat-completions
                  model: HCX-005
                  api_key: ${CLOVASTUDIO_API_KEY}
                """
            ),
        ),
        "config/llm.json": (
            "JSON with a Bedrock endpoint",
            _t(
                """\
                {
                  "endpoint": "https://bedrock-runtime.ap-northeast-2.amazonaws.com",
                  "model_id": "anthropic.claude-3-haiku-20240307-v1:0"
                }
                """
            ),
        ),
        "config/app.toml": (
            "TOML pointing at DeepSeek",
            _t(
                """\
                [llm]
                base_url = "https://api.deepseek.com"
                model = "deepseek-chat"
                """
            ),
        ),
        "config/application.properties": (
            "Spring AI properties",
            _t(
                """\
                spring.ai.openai.api-key=${OPENAI_API_KEY}
                spring.ai.openai.chat.options.model=gpt-4o
                spring.ai.bedrock.aws.region=ap-northeast-2
                """
            ),
        ),
        "config/llm.ini": (
            "INI pointing at a local vLLM server",
            _t(
                """\
                [server]
                base_url = http://localhost:8000/v1
                model = Qwen/Qwen2.5-7B-Instruct
                """
            ),
        ),
        "config/package.json": (
            "package.json dependencies",
            _t(
                """\
                {
                  "name": "demo",
                  "dependencies": {"openai": "^4.70.0", "@anthropic-ai/sdk": "^0.30.0"}
                }
                """
            ),
        ),
        "config/requirements.txt": (
            "requirements.txt",
            _t(
                """\
                openai==1.54.0
                anthropic>=0.40
                transformers==4.46.0
                """
            ),
        ),
    }


def _malicious(secret: dict[str, str], pin: str) -> dict[str, tuple[str, str]]:
    return {
        "python/trust_remote_code.py": (
            "from_pretrained with trust_remote_code=True",
            _t(
                f"""\
                from transformers import AutoModel

                m = AutoModel.from_pretrained(
                    "acme/custom-arch", revision="{pin}", trust_remote_code=True
                )
                """
            ),
        ),
        "python/trust_remote_alias.py": (
            "trust_remote_code through a module alias",
            _t(
                """\
                import transformers as tf

                m = tf.AutoModelForCausalLM.from_pretrained("acme/x", trust_remote_code=True)
                """
            ),
        ),
        "python/trust_remote_kwargs.py": (
            "trust_remote_code hidden in **kwargs",
            _t(
                """\
                from transformers import AutoModel

                m = AutoModel.from_pretrained("acme/x", **{"trust_remote_code": True})
                """
            ),
        ),
        "python/pipeline_trust.py": (
            "pipeline with trust_remote_code=True",
            _t(
                """\
                from transformers import pipeline

                p = pipeline("text-generation", model="acme/x", trust_remote_code=True)
                """
            ),
        ),
        "python/torch_load_default.py": (
            "torch.load without weights_only",
            _t(
                """\
                import torch

                state = torch.load("checkpoint.pt")
                """
            ),
        ),
        "python/torch_load_alias_false.py": (
            "torch.load imported under another name, weights_only=False",
            _t(
                """\
                from torch import load as restore

                state = restore(path, weights_only=False)
                """
            ),
        ),
        "python/openai_key.py": (
            "hard-coded OpenAI key",
            _t(
                f"""\
                from openai import OpenAI

                client = OpenAI(api_key="{secret["openai"]}")
                """
            ),
        ),
        "python/syntax_error_evasion.py": (
            "syntax error to dodge AST scanners, trust_remote_code=True inside",
            _t(
                """\
                from transformers import AutoModel
                m = AutoModel.from_pretrained("acme/x", trust_remote_code=True)
                def broken(:
                """
            ),
        ),
        "js/anthropic_key.ts": (
            "hard-coded Anthropic key",
            _t(
                f"""\
                import Anthropic from '@anthropic-ai/sdk';
                const a = new Anthropic({{ apiKey: '{secret["anthropic"]}' }});
                """
            ),
        ),
        "go/aws_keys.go": (
            "AWS access key pair in Go",
            _t(
                f"""\
                package main

                import "github.com/aws/aws-sdk-go-v2/credentials"

                var p = credentials.NewStaticCredentialsProvider(
                \t"{secret["aws_id"]}",
                \t"{secret["aws_secret"]}",
                \t"",
                )
                """
            ),
        ),
        "java/GeminiKey.java": (
            "hard-coded Google API key",
            _t(
                f"""\
                package demo;

                import com.google.genai.Client;

                public class GeminiKey {{
                  Client c = Client.builder().apiKey("{secret["google"]}").build();
                }}
                """
            ),
        ),
        "java/UpstageKey.kt": (
            "hard-coded Upstage key",
            _t(
                f"""\
                package demo

                const val UPSTAGE_API_KEY = "{secret["upstage"]}"
                """
            ),
        ),
        "config/hf_token.env": (
            "Hugging Face token in an env file",
            _t(
                f"""\
                HF_TOKEN={secret["huggingface"]}
                """
            ),
        ),
        "config/azure_key.properties": (
            "Azure 32-hex key in properties",
            _t(
                f"""\
                azure.openai.endpoint=https://contoso.openai.azure.com/
                azure.openai.key={secret["azure"]}
                """
            ),
        ),
        "config/generic_key.yaml": (
            "generic high-entropy api_key in YAML",
            _t(
                f"""\
                service:
                  url: https://api.x.ai/v1
                  api_key: "{secret["generic"]}"
                """
            ),
        ),
        "config/openai_key.json": (
            "legacy OpenAI key in JSON",
            _t(
                f"""\
                {{"OPENAI_API_KEY": "{secret["openai_legacy"]}", "model": "gpt-4o"}}
                """
            ),
        ),
        "config/vllm-compose.yaml": (
            "vLLM server started with --trust-remote-code",
            _t(
                """\
                services:
                  vllm:
                    image: vllm/vllm-openai
                    command: ["--model", "acme/custom-arch", "--trust-remote-code"]
                """
            ),
        ),
    }


def _broken() -> dict[str, tuple[str, bytes]]:
    rng = _rng("broken")
    # A text-looking start (so no magic number matches and it reaches the code analyzer),
    # then bytes that are not UTF-8.
    noise = b"// generated\n" + bytes(rng.randrange(256) for _ in range(512)) + b"\xff\xfe\x80"
    return {
        "python/broken/syntax_error.py": ("invalid Python", b"def f(:\n    return 1\n"),
        "python/broken/latin1.py": ("Latin-1 bytes without a coding cookie", b"# caf\xe9\nx = 1\n"),
        "python/broken/nul_bytes.py": ("NUL bytes in source", b"x = 1\x00\ny = 2\n"),
        "js/broken/noise.ts": ("random bytes with a .ts name", noise),
        "config/broken/broken.json": ("truncated JSON", b'{"model": "gpt-4o", "base_url": '),
        "config/broken/broken.yaml": ("unclosed YAML flow sequence", b"models: [gpt-4o, claude\n"),
        "config/broken/broken.toml": ("invalid TOML", b"[llm\nmodel = \n"),
        "config/broken/broken.ini": ("INI without a section header", b"model = gpt-4o\n"),
    }


def generate(root: Path) -> list[Sample]:
    """Write the corpus under `root/code/` and return its labels."""
    base = root / "code"
    secret = fake_secrets()
    pin, pin2 = _hex("pin-1"), _hex("pin-2")
    samples: list[Sample] = []
    for label, files in (("benign", _benign(pin, pin2)), ("malicious", _malicious(secret, pin))):
        for rel, (technique, text) in files.items():
            path = base / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            samples.append((f"code/{rel}", label, technique))
    for rel, (technique, data) in _broken().items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        samples.append((f"code/{rel}", "broken", technique))
    return samples
