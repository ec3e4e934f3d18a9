"""Corpus for the non-pickle model formats: safetensors, GGUF, ONNX, Keras, Hugging Face folders.

    python -m tests.data.scan.gen_formats OUT_DIR   (make_corpus.py puts it under formats/)

`generate(root)` writes every sample under `root` and returns `(path, label, technique)`
triples (the contract is in make_corpus.py): "malicious" must be reported critical/high,
"benign" must not be, "broken" must get a `<format>.parse-error` (medium/info) and no crash.
Hugging Face samples are folders: their path is the folder, and the findings name files inside
it (`…/config.json`, `…/tokenizer_config.json`, `…/chat_template.jinja`).

Everything is written byte by byte from the formats' specifications — no TensorFlow, PyTorch,
onnx or gguf package is needed (h5py writes the `.h5` files, as the analyzer reads them). The
tests check these writers against the reference readers (gguf-py, onnx) where installed.
Payloads are harmless (`echo pwned`) and never loaded: Lambda bytecode is compiled and
marshalled, not run.
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import math
import random
import struct
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sumun.scan.model import Finding, Severity

Sample = tuple[str, str, str]

SEED = 20260601
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# --- safetensors ---------------------------------------------------------------------------------
_ST_SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "I8": 1, "F64": 8}


def safetensors_bytes(
    tensors: Sequence[tuple[str, str, Sequence[int]]],
    metadata: Mapping[str, str] | None = None,
) -> bytes:
    """A valid safetensors file: header padded to 8 bytes with spaces, as the reference does."""
    header: dict[str, Any] = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    data = bytearray()
    for name, dtype, shape in tensors:
        size = math.prod(shape) * _ST_SIZES[dtype]
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [len(data), len(data) + size],
        }
        data += bytes((i * 37 + len(name)) % 251 for i in range(size))
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + bytes(data)


# --- GGUF ----------------------------------------------------------------------------------------
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_GGUF_CODES = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f", BOOL: "?"}
_GGUF_CODES |= {U64: "Q", I64: "q", F64: "d"}
# ggml type -> (block elements, block bytes)
GGML = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q8_0": (8, 32, 34)}
GGML |= {"Q4_K": (12, 256, 144), "Q6_K": (14, 256, 210), "BF16": (30, 1, 2)}
KV = tuple[str, int, Any]


def _gstr(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def _gvalue(vtype: int, value: Any) -> bytes:
    if vtype == STRING:
        return _gstr(value)
    if vtype == ARRAY:
        itype, items = value
        return struct.pack("<IQ", itype, len(items)) + b"".join(_gvalue(itype, v) for v in items)
    return struct.pack("<" + _GGUF_CODES[vtype], value)


def gguf_bytes(
    kv: Sequence[KV],
    tensors: Sequence[tuple[str, Sequence[int], str]] = (),
    *,
    version: int = 3,
    alignment: int = 32,
) -> bytes:
    """A GGUF file (docs/gguf.md): header, key/values, tensor infos, aligned tensor data."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kv)))
    for key, vtype, value in kv:
        out += _gstr(key) + struct.pack("<I", vtype) + _gvalue(vtype, value)
    blobs: list[bytes] = []
    offset = 0
    for name, dims, type_name in tensors:
        type_id, block, block_bytes = GGML[type_name]
        nbytes = math.prod(dims) // block * block_bytes
        out += _gstr(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", type_id, offset)
        blob = bytes((i * 13) % 256 for i in range(nbytes))
        blob += b"\x00" * (-len(blob) % alignment)
        blobs.append(blob)
        offset += len(blob)
    out += b"\x00" * (-len(out) % alignment)
    return bytes(out) + b"".join(blobs)


def gguf_model(
    arch: str,
    name: str,
    file_type: int,
    template: str | None = None,
    *,
    extra: Sequence[KV] = (),
    tensors: Sequence[tuple[str, Sequence[int], str]] = (("token_embd.weight", (32, 8), "F32"),),
    license_: str = "apache-2.0",
    base_models: Sequence[tuple[str, str, str]] = (),  # (name, organization, repo_url)
) -> bytes:
    """A small but realistic model file: the keys llama.cpp's converter writes."""
    kv: list[KV] = [
        ("general.architecture", STRING, arch),
        ("general.type", STRING, "model"),
        ("general.name", STRING, name),
        ("general.license", STRING, license_),
        ("general.file_type", U32, file_type),
        ("general.quantization_version", U32, 2),
        (f"{arch}.context_length", U32, 8192),
        (f"{arch}.block_count", U32, 1),
        ("general.tags", ARRAY, (STRING, ["text-generation", "korean"])),
        ("general.languages", ARRAY, (STRING, ["ko", "en"])),
    ]
    if base_models:
        kv.append(("general.base_model.count", U32, len(base_models)))
        for index, (bm_name, org, url) in enumerate(base_models):
            kv.append((f"general.base_model.{index}.name", STRING, bm_name))
            kv.append((f"general.base_model.{index}.organization", STRING, org))
            kv.append((f"general.base_model.{index}.repo_url", STRING, url))
    vocab = [f"<tok{i}>" for i in range(48)] + ["안녕", "하세요", "▁the", "<|eot_id|>"]
    kv += [
        ("tokenizer.ggml.model", STRING, "gpt2"),
        ("tokenizer.ggml.tokens", ARRAY, (STRING, vocab)),
        ("tokenizer.ggml.token_type", ARRAY, (I32, [1] * len(vocab))),
        ("tokenizer.ggml.bos_token_id", U32, 1),
    ]
    if template is not None:
        kv.append(("tokenizer.chat_template", STRING, template))
    kv += list(extra)
    return gguf_bytes(kv, tensors)


# --- chat templates (written for this corpus in the style of the public ones) --------------------
LLAMA3_TEMPLATE = r"""{{- bos_token }}
{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}{%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}{%- set date_string = "26 Jul 2024" %}{%- endif %}
{%- endif %}
{%- if not tools is defined %}{%- set tools = none %}{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}{{- "Environment: ipython\n" }}{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'
            + message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}{{- tool_call.arguments | tojson }}{{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
"""

QWEN_TEMPLATE = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}
    {%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}
    {{- "\n\n# Tools\n\nYou are provided with function signatures within "
        + "<tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}
    {{- "\n</tools>\n\nReturn a json object within <tool_call></tool_call> XML tags:\n"
        + "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
        + "</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\n당신은 친절한 AI 어시스턴트입니다.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first)
           or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}{{- '\n' + message.content }}{%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}{{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}{{- message.content }}{{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}
"""

EXAONE_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "{{ '[|system|][|endofturn|]\\n' }}{% endif %}{{ '[|' + message['role'] + '|]' + "
    "message['content'] }}{% if message['role'] == 'user' %}{{ '\\n' }}{% else %}"
    "{{ '[|endofturn|]\\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "{{ '[|assistant|]' }}{% endif %}"
)

GEMMA_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role "
    "not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user')"
    " != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}"
    "{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)

DEEPSEEK_TEMPLATE = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}"
    "{% endif %}{% set ns = namespace(is_first=false, is_tool=false, system_prompt='') %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}"
    "{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}"
    "{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}"
    "{{ '<｜User｜>' + message['content'] }}{%- endif %}"
    "{%- if message['role'] == 'assistant' and message['content'] is not none %}"
    "{% set content = message['content'] %}{% if '</think>' in content %}"
    "{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{ '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' }}{%- endif %}{%- endfor -%}"
    "{% if add_generation_prompt and not ns.is_tool %}{{ '<｜Assistant｜><think>\\n' }}"
    "{% endif %}"
)

MISTRAL_TEMPLATE = r"""{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}{%- set loop_messages = messages[1:] %}
{%- else %}{%- set loop_messages = messages %}{%- endif %}
{%- if not tools is defined %}{%- set tools = none %}{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}
{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if tools is not none and (message == user_messages[-1]) %}
            {{- "[AVAILABLE_TOOLS] [" }}
            {%- for tool in tools %}
                {%- set tool = tool.function %}
                {{- '{"type": "function", "function": {' }}
                {%- for key, val in tool.items() if key != "return" %}
                    {%- if val is string %}{{- '"' + key + '": "' + val + '"' }}
                    {%- else %}{{- '"' + key + '": ' + val|tojson }}{%- endif %}
                    {%- if not loop.last %}{{- ", " }}{%- endif %}
                {%- endfor %}
                {{- "}}" }}
                {%- if not loop.last %}{{- ", " }}{%- else %}{{- "]" }}{%- endif %}
            {%- endfor %}
            {{- "[/AVAILABLE_TOOLS]" }}
        {%- endif %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\n\n" + message["content"] + "[/INST]" }}
        {%- else %}{{- "[INST] " + message["content"] + "[/INST]" }}{%- endif %}
    {%- elif message.tool_calls is defined %}
        {{- "[TOOL_CALLS] [" }}
        {%- for tool_call in message.tool_calls %}
            {%- set out = tool_call.function|tojson %}{{- out[:-1] }}
            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}
                {{- raise_exception("Tool call IDs must be alphanumeric strings of length 9!") }}
            {%- endif %}
            {{- ', "id": "' + tool_call.id + '"}' }}
            {%- if not loop.last %}{{- ", " }}{%- else %}{{- "]" + eos_token }}{%- endif %}
        {%- endfor %}
    {%- elif message["role"] == "assistant" %}{{- " " + message["content"]|trim + eos_token}}
    {%- elif message["role"] == "tool" %}
        {{- '[TOOL_RESULTS] {"content": ' + message.content|string + ", " }}
        {{- '"call_id": "' + message.tool_call_id + '"}[/TOOL_RESULTS]' }}
    {%- else %}{{- raise_exception("Only user and assistant roles are supported!") }}
    {%- endif %}
{%- endfor %}
"""

LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}"
    "{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}{% if (message['role'] == 'user') != "
    "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and "
    "system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
    "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}"
    "{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() "
    "+ ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' "
    "+ eos_token }}{% endif %}{% endfor %}"
)

PHI3_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + "
    "message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\\n' + "
    "message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"
)

BENIGN_TEMPLATES = {
    "llama3": LLAMA3_TEMPLATE,
    "qwen": QWEN_TEMPLATE,
    "exaone": EXAONE_TEMPLATE,
    "gemma": GEMMA_TEMPLATE,
    "deepseek": DEEPSEEK_TEMPLATE,
    "mistral": MISTRAL_TEMPLATE,
    "llama2": LLAMA2_TEMPLATE,
    "phi3": PHI3_TEMPLATE,
}

_CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>\\n' }}{% endfor %}"
)
# Server-side template injection, each in a different style (payload: echo pwned).
SSTI_TEMPLATES = {
    "subclasses-walk": (  # the CVE-2024-34359 proof of concept's shape
        '{% for x in ().__class__.__base__.__subclasses__() %}{% if "warning" in x.__name__ %}'
        "{{ x()._module.__builtins__['__import__']('os').popen(\"echo pwned\") }}"
        "{% endif %}{% endfor %}" + _CHATML
    ),
    "lipsum-globals": _CHATML + "{{ lipsum.__globals__['os'].popen('echo pwned').read() }}",
    "cycler-init": "{{ cycler.__init__.__globals__.os.popen('echo pwned').read() }}" + _CHATML,
    "template-reference": (
        _CHATML + "{{ self._TemplateReference__context.joiner.__init__.__globals__.os"
        ".popen('echo pwned').read() }}"
    ),
    "hex-escaped-attr": (
        "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f')|attr('\\x5f\\x5fbase\\x5f\\x5f')"
        "|attr('\\x5f\\x5fsubclasses\\x5f\\x5f')() }}" + _CHATML
    ),
    "concat-join": (
        "{% set g = ['__glo', 'bals__']|join %}"
        "{{ (joiner|attr(['__in', 'it__']|join)|attr(g))['o' ~ 's'].popen('echo pwned') }}"
        + _CHATML
    ),
    "tilde-concat": (
        "{% set a = '__in' ~ 'it__' %}{% set b = '__glo' ~ 'bals__' %}"
        "{{ (ns_obj|attr(a)|attr(b))['o' ~ 's']['po' ~ 'pen']('echo pwned') }}" + _CHATML
    ),
    "unicode-escaped": (
        _CHATML + "{{ (''|attr('\\u005f\\u005fclass\\u005f\\u005f')).mro()[1]"
        "|attr('\\u005f\\u005fsubclasses\\u005f\\u005f') }}"
    ),
    "percent-c-format": (
        "{% set u = '%c'|format(95) %}{% set name = u ~ u ~ 'globals' ~ u ~ u %}"
        "{{ (x|attr(name)) }}" + _CHATML
    ),
    "namespace-init": _CHATML + "{{ namespace.__init__.__globals__['os'].system('echo pwned') }}",
}


# --- ONNX (protobuf wire format) -----------------------------------------------------------------
def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def pb_bytes(number: int, payload: bytes | str) -> bytes:
    raw = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


FLOAT, INT64 = 1, 7


def onnx_tensor(
    name: str,
    dims: Sequence[int],
    *,
    data_type: int = FLOAT,
    raw: bytes | None = None,
    external: Mapping[str, str] | None = None,
) -> bytes:
    """TensorProto: dims 1, data_type 2, name 8, raw_data 9, external_data 13, data_location 14."""
    out = b"".join(pb_int(1, d) for d in dims) + pb_int(2, data_type) + pb_bytes(8, name)
    if external is None:
        size = math.prod(dims) * (4 if data_type == FLOAT else 8)
        out += pb_bytes(9, raw if raw is not None else bytes(size))
    else:
        for key, value in external.items():
            out += pb_bytes(13, pb_bytes(1, key) + pb_bytes(2, value))
        out += pb_int(14, 1)
    return out


def onnx_value_info(name: str, dims: Sequence[int], elem_type: int = FLOAT) -> bytes:
    shape = b"".join(pb_bytes(1, pb_int(1, d)) for d in dims)
    tensor_type = pb_int(1, elem_type) + pb_bytes(2, shape)
    return pb_bytes(1, name) + pb_bytes(2, pb_bytes(1, tensor_type))


def onnx_node(
    op_type: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    *,
    name: str = "",
    domain: str = "",
    attributes: Sequence[bytes] = (),
) -> bytes:
    out = b"".join(pb_bytes(1, i) for i in inputs) + b"".join(pb_bytes(2, o) for o in outputs)
    if name:
        out += pb_bytes(3, name)
    out += pb_bytes(4, op_type)
    out += b"".join(pb_bytes(5, a) for a in attributes)
    if domain:
        out += pb_bytes(7, domain)
    return out


def onnx_attr_graph(name: str, graph: bytes) -> bytes:
    return pb_bytes(1, name) + pb_bytes(6, graph) + pb_int(20, 5)  # type GRAPH


def onnx_attr_int(name: str, value: int) -> bytes:
    return pb_bytes(1, name) + pb_int(3, value) + pb_int(20, 2)  # type INT


def onnx_graph(
    name: str,
    nodes: Sequence[bytes],
    inputs: Sequence[bytes],
    outputs: Sequence[bytes],
    initializers: Sequence[bytes] = (),
) -> bytes:
    out = b"".join(pb_bytes(1, n) for n in nodes) + pb_bytes(2, name)
    out += b"".join(pb_bytes(5, t) for t in initializers)
    out += b"".join(pb_bytes(11, i) for i in inputs) + b"".join(pb_bytes(12, o) for o in outputs)
    return out


def onnx_model(
    graph: bytes,
    *,
    ir_version: int = 8,
    opsets: Sequence[tuple[str, int]] = (("", 17),),
    producer: tuple[str, str] = ("pytorch", "2.3.1"),
    metadata: Mapping[str, str] | None = None,
    functions: Sequence[bytes] = (),
    doc: str = "",
) -> bytes:
    """ModelProto, fields in number order as protobuf serializers write them."""
    out = pb_int(1, ir_version) + pb_bytes(2, producer[0]) + pb_bytes(3, producer[1])
    if doc:
        out += pb_bytes(6, doc)
    out += pb_bytes(7, graph)
    out += b"".join(pb_bytes(8, pb_bytes(1, d) + pb_int(2, v)) for d, v in opsets)
    for key, value in (metadata or {}).items():
        out += pb_bytes(14, pb_bytes(1, key) + pb_bytes(2, value))
    out += b"".join(pb_bytes(25, f) for f in functions)
    return out


def onnx_add_relu() -> bytes:
    graph = onnx_graph(
        "add_relu",
        [onnx_node("Add", ["X", "Y"], ["S"], name="add"), onnx_node("Relu", ["S"], ["Z"])],
        [onnx_value_info("X", [1, 4]), onnx_value_info("Y", [1, 4])],
        [onnx_value_info("Z", [1, 4])],
    )
    return onnx_model(graph)


def onnx_with_initializer(location: str | None = None, *, name: str = "linear") -> bytes:
    """MatMul by a 4x4 weight, inline or (with `location`) in an external file."""
    external = None if location is None else {"location": location, "offset": "0", "length": "64"}
    weight = onnx_tensor("W", [4, 4], external=external)
    graph = onnx_graph(
        name,
        [onnx_node("MatMul", ["X", "W"], ["Y"], name="matmul")],
        [onnx_value_info("X", [1, 4])],
        [onnx_value_info("Y", [1, 4])],
        [weight],
    )
    return onnx_model(graph, metadata={"author": "Acme AI Lab", "license": "apache-2.0"})


def onnx_if_model(branch_location: str | None = None) -> bytes:
    """An If node whose branches are sub-graphs; the then-branch has an initializer."""
    external = None if branch_location is None else {"location": branch_location}
    then_graph = onnx_graph(
        "then",
        [onnx_node("Identity", ["K"], ["R"])],
        [],
        [onnx_value_info("R", [2])],
        [onnx_tensor("K", [2], external=external)],
    )
    else_graph = onnx_graph(
        "else", [onnx_node("Neg", ["X"], ["R2"])], [], [onnx_value_info("R2", [2])]
    )
    graph = onnx_graph(
        "branchy",
        [
            onnx_node(
                "If",
                ["C"],
                ["OUT"],
                attributes=[
                    onnx_attr_graph("then_branch", then_graph),
                    onnx_attr_graph("else_branch", else_graph),
                ],
            )
        ],
        [onnx_value_info("C", [], elem_type=9), onnx_value_info("X", [2])],
        [onnx_value_info("OUT", [2])],
    )
    return onnx_model(graph, metadata={"converted_from": "tf2onnx"}, producer=("tf2onnx", "1.16"))


def onnx_vendor_op() -> bytes:
    graph = onnx_graph(
        "fused",
        [onnx_node("FusedMatMul", ["A", "B"], ["Y"], domain="com.microsoft")],
        [onnx_value_info("A", [2, 2]), onnx_value_info("B", [2, 2])],
        [onnx_value_info("Y", [2, 2])],
    )
    return onnx_model(
        graph, opsets=[("", 17), ("com.microsoft", 1)], producer=("onnxruntime", "1.18")
    )


def onnx_local_function() -> bytes:
    """A model-local function (domain `acme.fn`) called by the main graph: not a custom op."""
    body = (
        pb_bytes(1, "Double")
        + pb_bytes(4, "x")
        + pb_bytes(5, "y")
        + pb_bytes(7, onnx_node("Add", ["x", "x"], ["y"]))
        + pb_bytes(9, pb_bytes(1, "") + pb_int(2, 17))
        + pb_bytes(10, "acme.fn")
    )
    graph = onnx_graph(
        "with_function",
        [onnx_node("Double", ["X"], ["Y"], domain="acme.fn")],
        [onnx_value_info("X", [3])],
        [onnx_value_info("Y", [3])],
    )
    return onnx_model(graph, opsets=[("", 17), ("acme.fn", 1)], functions=[body])


def onnx_custom_domain() -> bytes:
    graph = onnx_graph(
        "custom",
        [onnx_node("FastGelu", ["X"], ["Y"], domain="com.example.customops")],
        [onnx_value_info("X", [4])],
        [onnx_value_info("Y", [4])],
    )
    return onnx_model(graph, opsets=[("", 17), ("com.example.customops", 1)])


def onnx_gemm() -> bytes:
    weight = onnx_tensor("B", [4, 3])
    bias = onnx_tensor("C", [3])
    graph = onnx_graph(
        "gemm",
        [onnx_node("Gemm", ["A", "B", "C"], ["Y"], attributes=[onnx_attr_int("transA", 0)])],
        [onnx_value_info("A", [2, 4])],
        [onnx_value_info("Y", [2, 3])],
        [weight, bias],
    )
    return onnx_model(graph, ir_version=7, opsets=[("", 13)], producer=("skl2onnx", "1.17.0"))


# --- Keras ---------------------------------------------------------------------------------------
def _dtype_policy() -> dict[str, Any]:
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    }


def k3_layer(class_name: str, name: str, **config: Any) -> dict[str, Any]:
    """A layer as Keras 3 serializes it (`serialize_keras_object`)."""
    return {
        "module": "keras.layers",
        "class_name": class_name,
        "config": {"name": name, "trainable": True, "dtype": _dtype_policy(), **config},
        "registered_name": None,
        "build_config": {"input_shape": [None, 4]},
    }


def k3_dense(name: str, units: int, activation: Any = "relu") -> dict[str, Any]:
    initializer = {
        "module": "keras.initializers",
        "class_name": "GlorotUniform",
        "config": {"seed": None},
        "registered_name": None,
    }
    return k3_layer(
        "Dense",
        name,
        units=units,
        activation=activation,
        use_bias=True,
        kernel_initializer=initializer,
        bias_initializer={
            "module": "keras.initializers",
            "class_name": "Zeros",
            "config": {},
            "registered_name": None,
        },
    )


def lambda_code(source: str) -> str:
    """base64 of the marshalled code of `source` (a lambda), as Keras' func_dump writes it.
    Compiled, never called."""
    code = compile(source, "<lambda>", "eval").co_consts[0]
    return base64.encodebytes(marshal.dumps(code)).decode("ascii")


BENIGN_LAMBDA = "lambda x: x * 2.0"
EVIL_LAMBDA = "lambda x: __import__('os').system('echo pwned') or x"


def k3_lambda(name: str, source: str) -> dict[str, Any]:
    function = {
        "class_name": "__lambda__",
        "config": {"code": lambda_code(source), "defaults": None, "closure": None},
    }
    return k3_layer("Lambda", name, function=function, arguments={})


def k3_sequential(name: str, layers: list[dict[str, Any]]) -> dict[str, Any]:
    inputs = {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, 4], "dtype": "float32", "name": f"{name}_input"},
        "registered_name": None,
    }
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": name,
            "trainable": True,
            "dtype": _dtype_policy(),
            "layers": [inputs, *layers],
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, 4]},
        "compile_config": {
            "optimizer": {
                "module": "keras.optimizers",
                "class_name": "Adam",
                "config": {"learning_rate": 0.001},
                "registered_name": None,
            },
            "loss": "mse",
            "metrics": None,
        },
    }


def k3_functional(name: str, layers: list[dict[str, Any]]) -> dict[str, Any]:
    """A Functional model: the layers in a chain, each with its inbound node."""
    chain: list[dict[str, Any]] = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": {"batch_shape": [None, 5, 4], "dtype": "float32", "name": "inputs"},
            "registered_name": None,
            "name": "inputs",
            "inbound_nodes": [],
        }
    ]
    previous = "inputs"
    for layer in layers:
        node = dict(layer)
        node["name"] = layer["config"]["name"]
        node["inbound_nodes"] = [
            {
                "args": [
                    {
                        "class_name": "__keras_tensor__",
                        "config": {
                            "shape": [None, 5, 4],
                            "dtype": "float32",
                            "keras_history": [previous, 0, 0],
                        },
                    }
                ],
                "kwargs": {},
            }
        ]
        chain.append(node)
        previous = node["name"]
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": name,
            "trainable": True,
            "layers": chain,
            "input_layers": [["inputs", 0, 0]],
            "output_layers": [[previous, 0, 0]],
        },
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
    }


def k3_wrapper(class_name: str, name: str, inner: dict[str, Any]) -> dict[str, Any]:
    return k3_layer(class_name, name, layer=inner)


def keras_zip_bytes(config: Mapping[str, Any], keras_version: str = "3.6.0") -> bytes:
    """A `.keras` archive: metadata.json, config.json, model.weights.h5 (as Keras 3 saves)."""
    metadata = {"keras_version": keras_version, "date_saved": "2026-06-01@09:00:00"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, payload in (
            ("metadata.json", json.dumps(metadata).encode()),
            ("config.json", json.dumps(config).encode()),
            ("model.weights.h5", _weights_h5()),
        ):
            archive.writestr(zipfile.ZipInfo(member, _ZIP_TIME), payload)
    return buffer.getvalue()


def _weights_h5() -> bytes:
    import h5py  # type: ignore[import-untyped]  # the analyzer reads HDF5 with it too

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_group("layers").create_group("dense").create_group("vars")
        h5.create_group("optimizer").create_group("vars")
    return buffer.getvalue()


def k2_layer(
    class_name: str, name: str, *, with_module: bool = False, **config: Any
) -> dict[str, Any]:
    """A layer as Keras 2 writes it in `model_config` (`module` fields from TF 2.13 on)."""
    layer: dict[str, Any] = {
        "class_name": class_name,
        "config": {"name": name, "trainable": True, "dtype": "float32", **config},
    }
    if with_module:
        layer["module"] = "keras.layers"
        layer["registered_name"] = None
    return layer


def k2_lambda(name: str, source: str) -> dict[str, Any]:
    return k2_layer(
        "Lambda",
        name,
        function=[lambda_code(source), None, None],
        function_type="lambda",
        module="__main__",
        output_shape=None,
        output_shape_type="raw",
        output_shape_module=None,
        arguments={},
    )


def k2_sequential(
    name: str, layers: list[dict[str, Any]], *, module: bool = False
) -> dict[str, Any]:
    inputs = k2_layer(
        "InputLayer",
        f"{name}_input",
        with_module=module,
        batch_input_shape=[None, 4],
        sparse=False,
        ragged=False,
    )
    model: dict[str, Any] = {
        "class_name": "Sequential",
        "config": {"name": name, "layers": [inputs, *layers]},
    }
    if module:
        model["module"] = "keras"
        model["registered_name"] = None
    return model


def write_h5(
    path: Path, model_config: Mapping[str, Any] | None, keras_version: str = "2.12.0"
) -> None:
    """A legacy Keras HDF5 file: root attributes as Keras 2 `save_model` writes them."""
    import h5py

    with h5py.File(path, "w") as h5:  # Keras 2 encodes to bytes: fixed-length HDF5 strings
        h5.attrs["backend"] = b"tensorflow"
        h5.attrs["keras_version"] = keras_version.encode()
        if model_config is not None:
            h5.attrs["model_config"] = json.dumps(model_config).encode()
            h5.attrs["training_config"] = json.dumps({"loss": "mse", "metrics": None}).encode()
        weights = h5.create_group("model_weights")
        weights.attrs["layer_names"] = [b"dense"]
        weights.attrs["backend"] = "tensorflow"
        weights.create_group("dense").create_dataset("kernel", data=[[0.5, -0.5], [0.25, 1.0]])


# --- Hugging Face folders ------------------------------------------------------------------------
def _card(front: Mapping[str, Any], body: str = "# Model card\n\nA small model.\n") -> str:
    import yaml

    return (
        "---\n" + yaml.safe_dump(dict(front), allow_unicode=True, sort_keys=False) + "---\n" + body
    )


def write_hf_folder(
    folder: Path,
    *,
    config: Mapping[str, Any] | None = None,
    card: Mapping[str, Any] | None = None,
    tokenizer: Mapping[str, Any] | None = None,
    extra: Mapping[str, str | bytes] | None = None,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config, indent=2))
    if card is not None:
        (folder / "README.md").write_text(_card(card), encoding="utf-8")
    if tokenizer is not None:
        (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer, indent=2))
    for name, content in (extra or {}).items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def llama_config(name_or_path: str, **extra: Any) -> dict[str, Any]:
    return {
        "_name_or_path": name_or_path,
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.44.2",
        **extra,
    }


_TINY_WEIGHTS = safetensors_bytes([("lm_head.weight", "BF16", (4, 4))], {"format": "pt"})


# --- the corpus ----------------------------------------------------------------------------------
class _Corpus:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.samples: list[Sample] = []

    def file(self, rel: str, data: bytes, label: str, technique: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.samples.append((rel, label, technique))

    def h5(
        self,
        rel: str,
        config: Mapping[str, Any] | None,
        label: str,
        technique: str,
        keras_version: str = "2.12.0",
    ) -> None:
        (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_h5(self.root / rel, config, keras_version)
        self.samples.append((rel, label, technique))

    def folder(self, rel: str, label: str, technique: str, **parts: Any) -> None:
        write_hf_folder(self.root / rel, **parts)
        self.samples.append((rel, label, technique))


BENIGN, MALICIOUS, BROKEN = "benign", "malicious", "broken"
LLAMA_BASE = (
    (
        "Llama 3.1 8B Instruct",
        "Meta Llama",
        "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct",
    ),
)


def _benign_safetensors(c: _Corpus) -> None:
    d = "safetensors"
    c.file(
        f"{d}/tiny.safetensors", safetensors_bytes([("w", "F32", (2, 2))]), BENIGN, "no metadata"
    )
    two = [("embed.weight", "F16", (8, 4)), ("lm_head.weight", "F16", (8, 4))]
    c.file(
        f"{d}/with-metadata.safetensors",
        safetensors_bytes(two, {"format": "pt"}),
        BENIGN,
        "safetensors with __metadata__ format=pt",
    )
    mixed = [("a", "BF16", (3, 5)), ("b", "I64", (7,)), ("c", "U8", (9,)), ("d", "F64", (2,))]
    c.file(f"{d}/mixed.safetensors", safetensors_bytes(mixed), BENIGN, "mixed dtypes")
    lora_meta = {
        "modelspec.title": "ko-style LoRA",
        "modelspec.license": "openrail++",
        "ss_network_dim": "2",
        "ss_tag_frequency": json.dumps({"ko": 12}),
    }
    lora = [("lora_A.weight", "F32", (4, 2)), ("lora_B.weight", "F32", (2, 4))]
    c.file(f"{d}/lora.safetensors", safetensors_bytes(lora, lora_meta), BENIGN, "LoRA modelspec")
    shard = [(f"layers.{i}.weight", "BF16", (4, 4)) for i in range(6)]
    c.file(
        f"{d}/model-00001-of-00002.safetensors",
        safetensors_bytes(shard, {"format": "pt"}),
        BENIGN,
        "sharded safetensors, shard 1",
    )
    c.file(f"{d}/empty.safetensors", safetensors_bytes([], {"format": "pt"}), BENIGN, "no tensors")


def _benign_gguf(c: _Corpus) -> None:
    d = "gguf"
    q4k = [("blk.0.ffn_up.weight", (256, 2), "Q4_K"), ("output_norm.weight", (32,), "F32")]
    models = [
        (
            "llama3-ko-Q4_K_M.gguf",
            gguf_model(
                "llama",
                "Llama 3.1 Ko 8B",
                15,
                LLAMA3_TEMPLATE,
                license_="llama3.1",
                base_models=LLAMA_BASE,
                tensors=q4k,
            ),
            "llama Q4_K_M, Llama 3 template, base model",
        ),
        (
            "qwen2-Q8_0.gguf",
            gguf_model(
                "qwen2",
                "Qwen2.5 0.5B Instruct",
                7,
                QWEN_TEMPLATE,
                base_models=[("Qwen2.5 0.5B", "Qwen", "https://huggingface.co/Qwen/Qwen2.5-0.5B")],
                tensors=[("blk.0.attn_q.weight", (64, 4), "Q8_0")],
            ),
            "qwen2 Q8_0, Qwen tool-calling template",
        ),
        (
            "exaone-F16.gguf",
            gguf_model(
                "exaone",
                "EXAONE 3.5 2.4B Instruct",
                1,
                EXAONE_TEMPLATE,
                license_="other",
                extra=[("general.license.name", STRING, "exaone")],
                tensors=[("token_embd.weight", (16, 4), "F16")],
            ),
            "exaone F16, EXAONE template",
        ),
        (
            "gemma-BF16.gguf",
            gguf_model(
                "gemma2",
                "Gemma 2 2B It",
                32,
                GEMMA_TEMPLATE,
                license_="gemma",
                tensors=[("token_embd.weight", (16, 4), "BF16")],
            ),
            "gemma2 BF16, Gemma template with raise_exception",
        ),
        (
            "deepseek-Q6_K.gguf",
            gguf_model(
                "qwen2",
                "DeepSeek R1 Distill Qwen 1.5B",
                18,
                DEEPSEEK_TEMPLATE,
                license_="mit",
                tensors=[("output.weight", (256, 1), "Q6_K")],
            ),
            "DeepSeek template using namespace()",
        ),
        (
            "mistral-Q4_0.gguf",
            gguf_model(
                "llama",
                "Mistral 7B Instruct v0.3",
                2,
                MISTRAL_TEMPLATE,
                tensors=[("blk.0.attn_k.weight", (32, 2), "Q4_0")],
            ),
            "Mistral tool template (selectattr, tojson)",
        ),
        ("phi3-no-template.gguf", gguf_model("phi3", "Phi 3 Mini", 0, None), "no chat template"),
        (
            "llama2-v2.gguf",
            gguf_bytes(
                [
                    ("general.architecture", STRING, "llama"),
                    ("general.name", STRING, "Llama 2 7B Chat"),
                    ("general.file_type", U32, 2),
                    ("tokenizer.chat_template", STRING, LLAMA2_TEMPLATE),
                ],
                [("token_embd.weight", (32,), "F32")],
                version=2,
            ),
            "GGUF version 2, Llama 2 template",
        ),
        (
            "phi3-named-templates.gguf",
            gguf_model(
                "phi3",
                "Phi 3.5 Mini",
                0,
                PHI3_TEMPLATE,
                extra=[
                    ("tokenizer.chat_template.tool_use", STRING, QWEN_TEMPLATE),
                    ("tokenizer.chat_templates", ARRAY, (STRING, ["tool_use"])),
                ],
            ),
            "a named chat template (tool_use)",
        ),
    ]
    for name, data, technique in models:
        c.file(f"{d}/{name}", data, BENIGN, f"GGUF {technique}")


def _benign_onnx(c: _Corpus) -> None:
    d = "onnx"
    c.file(f"{d}/add_relu.onnx", onnx_add_relu(), BENIGN, "ONNX Add+Relu")
    c.file(f"{d}/linear.onnx", onnx_with_initializer(), BENIGN, "ONNX inline initializer")
    (c.root / d / "external").mkdir(parents=True, exist_ok=True)
    (c.root / d / "external" / "linear.weights").write_bytes(bytes(64))
    c.file(
        f"{d}/external/linear.onnx",
        onnx_with_initializer("linear.weights"),
        BENIGN,
        "ONNX with external data next to the model",
    )
    (c.root / d / "external" / "weights").mkdir(exist_ok=True)
    (c.root / d / "external" / "weights" / "k.bin").write_bytes(bytes(8))
    c.file(
        f"{d}/external/branchy.onnx",
        onnx_if_model("weights/./k.bin"),
        BENIGN,
        "ONNX If sub-graph with external data in a sub-folder",
    )
    c.file(f"{d}/fused_ort.onnx", onnx_vendor_op(), BENIGN, "ONNX com.microsoft op (info)")
    c.file(f"{d}/local_function.onnx", onnx_local_function(), BENIGN, "ONNX model-local function")
    c.file(f"{d}/gemm.onnx", onnx_gemm(), BENIGN, "ONNX Gemm from skl2onnx, IR 7")
    c.file(f"{d}/custom_domain.onnx", onnx_custom_domain(), BENIGN, "ONNX custom domain (medium)")


def _benign_keras(c: _Corpus) -> None:
    d = "keras"
    mlp = k3_sequential("mlp", [k3_dense("dense", 8), k3_dense("dense_1", 1, "linear")])
    c.file(f"{d}/mlp.keras", keras_zip_bytes(mlp), BENIGN, "Keras 3 Sequential MLP")
    wrapped = k3_wrapper("TimeDistributed", "time_distributed", k3_dense("td_dense", 4))
    nested = k3_functional("seq2seq", [wrapped, k3_sequential("head", [k3_dense("hd", 2)])])
    c.file(
        f"{d}/functional-nested.keras",
        keras_zip_bytes(nested),
        BENIGN,
        "Keras 3 Functional with TimeDistributed and a nested Sequential",
    )
    gelu = {
        "module": "keras.activations",
        "class_name": "function",
        "config": "gelu",
        "registered_name": "gelu",
    }
    act = k3_sequential("act", [k3_dense("dense", 4, activation=gelu)])
    c.file(f"{d}/activation-fn.keras", keras_zip_bytes(act), BENIGN, "keras.activations function")
    dense = k2_layer("Dense", "dense", units=8, activation="relu")
    c.h5(f"{d}/legacy-mlp.h5", k2_sequential("legacy", [dense]), BENIGN, "Keras 2 HDF5")
    dense = k2_layer("Dense", "dense", with_module=True, units=2)
    c.h5(
        f"{d}/legacy-tf213.h5",
        k2_sequential("tf213", [dense], module=True),
        BENIGN,
        "Keras 2.13 HDF5 with module fields",
        "2.13.1",
    )
    c.h5(f"{d}/weights-only.h5", None, BENIGN, "Keras HDF5 weights without an architecture")


def _benign_hf(c: _Corpus) -> None:
    d = "hf"
    c.folder(
        f"{d}/llama-ko-chat",
        BENIGN,
        "HF folder: Llama config, model card, Llama 3 template",
        config=llama_config("acme-ai/llama-ko-chat"),
        card={
            "license": "llama3.1",
            "base_model": "meta-llama/Llama-3.1-8B-Instruct",
            "datasets": ["acme-ai/ko-instructions", "HAERAE-HUB/KMMLU"],
            "language": ["ko", "en"],
            "pipeline_tag": "text-generation",
            "library_name": "transformers",
            "tags": ["korean", "chat"],
        },
        tokenizer={"bos_token": "<|begin_of_text|>", "chat_template": LLAMA3_TEMPLATE},
        extra={
            "generation_config.json": json.dumps({"temperature": 0.6}),
            "model.safetensors": _TINY_WEIGHTS,
        },
    )
    bert = {
        "_name_or_path": "acme-ai/bert-ko-ner",
        "architectures": ["BertForTokenClassification"],
        "model_type": "bert",
        "transformers_version": "4.40.0",
    }
    c.folder(
        f"{d}/bert-ko-ner",
        BENIGN,
        "HF folder: BERT NER, datasets as a string",
        config=bert,
        card={"license": "cc-by-4.0", "datasets": "klue", "language": "ko"},
        extra={"model.safetensors": _TINY_WEIGHTS},
    )
    exaone = llama_config(
        "LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct",
        architectures=["ExaoneForCausalLM"],
        model_type="exaone",
    )
    c.folder(
        f"{d}/exaone-mini",
        BENIGN,
        "HF folder: license other/exaone, EXAONE template",
        config=exaone,
        card={"license": "other", "license_name": "exaone", "language": ["en", "ko"]},
        tokenizer={"chat_template": EXAONE_TEMPLATE},
    )
    c.folder(
        f"{d}/qwen-merge",
        BENIGN,
        "HF folder: merge of two base models, chat_template.jinja",
        card={
            "base_model": ["Qwen/Qwen2.5-7B-Instruct", "acme-ai/qwen-ko-7b"],
            "library_name": "transformers",
            "tags": ["mergekit", "merge"],
        },
        extra={"chat_template.jinja": QWEN_TEMPLATE, "model.safetensors": _TINY_WEIGHTS},
    )


def _malicious_files(c: _Corpus) -> None:
    d = "gguf/ssti"
    for style, template in SSTI_TEMPLATES.items():
        data = gguf_model("llama", f"ssti {style}", 15, template)
        c.file(f"{d}/{style}.gguf", data, MALICIOUS, f"GGUF chat template SSTI: {style}")
    hidden = gguf_model(
        "llama",
        "named template",
        15,
        LLAMA3_TEMPLATE,
        extra=[("tokenizer.chat_template.rag", STRING, SSTI_TEMPLATES["lipsum-globals"])],
    )
    c.file(f"{d}/named-template.gguf", hidden, MALICIOUS, "GGUF SSTI in a named template")

    d = "onnx/escape"
    for name, location, technique in (
        ("dotdot", "../../../../../../etc/passwd", "location climbing out with .."),
        ("absolute", "/etc/shadow", "location at an absolute path"),
        ("windows", "C:\\Windows\\System32\\config\\SAM", "location at a Windows drive"),
        ("nested-dotdot", "weights/../../secret.bin", "location escaping after a sub-folder"),
        ("backslash", "..\\..\\id_rsa", "location climbing out with backslashes"),
    ):
        c.file(f"{d}/{name}.onnx", onnx_with_initializer(location), MALICIOUS, f"ONNX {technique}")
    subgraph = onnx_if_model("../../../etc/hosts")
    c.file(f"{d}/subgraph.onnx", subgraph, MALICIOUS, "ONNX escape inside an If sub-graph")

    d = "keras/evil"
    evil = k3_sequential("m", [k3_lambda("lambda", EVIL_LAMBDA), k3_dense("dense", 1)])
    c.file(f"{d}/lambda-os.keras", keras_zip_bytes(evil), MALICIOUS, "Keras 3 Lambda, os.system")
    td = k3_wrapper("TimeDistributed", "td", k3_lambda("inner_lambda", BENIGN_LAMBDA))
    c.file(
        f"{d}/lambda-in-timedistributed.keras",
        keras_zip_bytes(k3_functional("f", [td])),
        MALICIOUS,
        "Keras 3 Lambda nested in TimeDistributed",
    )
    inner = k3_sequential("inner", [k3_lambda("deep_lambda", EVIL_LAMBDA)])
    c.file(
        f"{d}/lambda-in-nested-model.keras",
        keras_zip_bytes(k3_functional("outer", [inner])),
        MALICIOUS,
        "Keras 3 Lambda inside a nested Sequential",
    )
    exec_fn = {
        "module": "builtins",
        "class_name": "function",
        "config": "exec",
        "registered_name": "exec",
    }
    c.file(
        f"{d}/builtins-exec.keras",
        keras_zip_bytes(k3_sequential("m", [k3_dense("dense", 2, activation=exec_fn)])),
        MALICIOUS,
        "Keras 3 config importing builtins.exec (CVE-2025-1550 style)",
    )
    unsafe = {
        "module": "keras.config",
        "class_name": "function",
        "config": "enable_unsafe_deserialization",
        "registered_name": "enable_unsafe_deserialization",
    }
    bypass = k3_sequential(
        "m", [k3_dense("dense", 2, activation=unsafe), k3_lambda("lambda", BENIGN_LAMBDA)]
    )
    c.file(
        f"{d}/safe-mode-bypass.keras",
        keras_zip_bytes(bypass),
        MALICIOUS,
        "Keras 3 config calling enable_unsafe_deserialization before a Lambda (CVE-2025-9906)",
    )
    wrapper = k3_layer("TorchModuleWrapper", "torch_module_wrapper", module="gASVAAAA")
    c.file(
        f"{d}/torch-wrapper.keras",
        keras_zip_bytes(k3_sequential("m", [wrapper])),
        MALICIOUS,
        "Keras 3 TorchModuleWrapper (pickled torch module)",
    )
    c.h5(
        f"{d}/legacy-lambda.h5",
        k2_sequential("m", [k2_lambda("lambda", EVIL_LAMBDA)]),
        MALICIOUS,
        "Keras 2 HDF5 Lambda with marshalled bytecode",
    )
    os_function = k2_layer(
        "Lambda", "lambda", function="system", function_type="function", module="os"
    )
    c.h5(
        f"{d}/legacy-function-os.h5",
        k2_sequential("m", [os_function]),
        MALICIOUS,
        "Keras 2 HDF5 Lambda naming os.system",
    )
    bidi = k2_layer("Bidirectional", "bidi", layer=k2_lambda("inner", BENIGN_LAMBDA))
    c.h5(
        f"{d}/legacy-lambda-in-wrapper.h5",
        k2_sequential("m", [bidi]),
        MALICIOUS,
        "Keras 2 HDF5 Lambda inside a Bidirectional wrapper",
    )


def _malicious_hf(c: _Corpus) -> None:
    d = "hf/evil"
    auto_map = {
        "AutoConfig": "configuration_acme.AcmeConfig",
        "AutoModelForCausalLM": "modeling_acme.AcmeForCausalLM",
    }
    c.folder(
        f"{d}/remote-code",
        MALICIOUS,
        "HF auto_map with shipped modeling code",
        config=llama_config("acme-ai/remote-code", auto_map=auto_map),
        card={"license": "apache-2.0", "library_name": "transformers"},
        extra={
            "modeling_acme.py": "import os\nos.system('echo pwned')\n",
            "configuration_acme.py": "class AcmeConfig: ...\n",
        },
    )
    c.folder(
        f"{d}/foreign-code",
        MALICIOUS,
        "HF auto_map fetching code from another repository",
        config=llama_config(
            "acme-ai/foreign-code", auto_map={"AutoModel": "attacker/payloads--modeling_x.XModel"}
        ),
    )
    c.folder(
        f"{d}/tokenizer-remote-code",
        MALICIOUS,
        "HF tokenizer_config auto_map (remote tokenizer code)",
        config=llama_config("acme-ai/tok"),
        tokenizer={"auto_map": {"AutoTokenizer": ["tokenization_acme.AcmeTokenizer", None]}},
        extra={"tokenization_acme.py": "import subprocess\n"},
    )
    c.folder(
        f"{d}/ssti-tokenizer",
        MALICIOUS,
        "HF tokenizer_config.json chat_template SSTI",
        config=llama_config("acme-ai/ssti"),
        tokenizer={"chat_template": SSTI_TEMPLATES["subclasses-walk"]},
    )
    c.folder(
        f"{d}/ssti-jinja",
        MALICIOUS,
        "HF chat_template.jinja SSTI",
        config=llama_config("acme-ai/ssti-jinja"),
        extra={"chat_template.jinja": SSTI_TEMPLATES["template-reference"]},
    )
    templates = [
        {"name": "default", "template": LLAMA3_TEMPLATE},
        {"name": "rag", "template": SSTI_TEMPLATES["cycler-init"]},
    ]
    c.folder(
        f"{d}/ssti-template-list",
        MALICIOUS,
        "HF named chat templates, one with SSTI",
        config=llama_config("acme-ai/ssti-list"),
        tokenizer={"chat_template": templates},
    )


def _broken(c: _Corpus, rng: random.Random) -> None:
    d = "broken"
    good_st = safetensors_bytes([("w", "F32", (4, 4))], {"format": "pt"})
    good_gguf = gguf_model("llama", "broken", 15, LLAMA3_TEMPLATE)
    good_onnx = onnx_with_initializer()
    good_keras = keras_zip_bytes(k3_sequential("m", [k3_dense("d", 1)]))
    for ext in ("safetensors", "gguf", "onnx", "keras", "h5"):
        c.file(f"{d}/zero.{ext}", b"", BROKEN, f"zero-length .{ext}")
        noise = bytes(rng.getrandbits(8) for _ in range(2048))
        c.file(f"{d}/random.{ext}", noise, BROKEN, f"random bytes named .{ext}")
    cases = [
        ("truncated.safetensors", good_st[:40], "safetensors cut inside the header"),
        (
            "lying-header.safetensors",
            struct.pack("<Q", 5000) + good_st[8:],
            "safetensors header length beyond the end of the file",
        ),
        (
            "oversized-header.safetensors",
            struct.pack("<Q", 3_000_000_000) + good_st[8:],
            "safetensors header length of 3 GB (over the 100 MB limit)",
        ),
        (
            "bad-json.safetensors",
            struct.pack("<Q", 16) + b'{"w": {"dtype": ' + bytes(8),
            "safetensors header that is not JSON",
        ),
        ("truncated.gguf", good_gguf[: len(good_gguf) // 3], "GGUF cut inside the metadata"),
        (
            "string-2e60.gguf",
            b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 1 << 60) + b"general.name",
            "GGUF key claiming 2^60 bytes",
        ),
        (
            "kv-count-2e40.gguf",
            b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 40),
            "GGUF claiming 2^40 metadata entries",
        ),
        ("version-99.gguf", b"GGUF" + struct.pack("<IQQ", 99, 0, 0), "GGUF unknown version"),
        (
            "tensor-data-missing.gguf",
            gguf_model("llama", "no data", 0, None, tensors=[("t", (1024,), "F32")])[:-2048],
            "GGUF whose tensor data is cut off",
        ),
        ("truncated.onnx", good_onnx[: len(good_onnx) // 2], "ONNX cut in the middle"),
        (
            "lying-length.onnx",
            pb_int(1, 8) + _varint(7 << 3 | 2) + _varint(1 << 40) + b"\x0a\x00",
            "ONNX graph field claiming 2^40 bytes",
        ),
        ("truncated.keras", good_keras[: len(good_keras) // 2], "Keras zip cut in the middle"),
        ("bad-config.keras", _bad_config_keras(), "Keras zip with a config.json that is not JSON"),
        (
            "hdf5-garbage.h5",
            b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4,
            "HDF5 signature, garbage",
        ),
    ]
    for name, data, technique in cases:
        c.file(f"{d}/{name}", data, BROKEN, technique)


def _bad_config_keras() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("metadata.json", _ZIP_TIME), b'{"keras_version": "3.6"}')
        archive.writestr(zipfile.ZipInfo("config.json", _ZIP_TIME), b"{not json")
    return buffer.getvalue()


def label_holds(label: str, findings: Sequence[Finding]) -> bool:
    """The corpus contract for one sample: malicious ⇒ a critical/high finding; benign ⇒ none;
    broken ⇒ a `.parse-error` and every parse error medium or info."""
    worst = max((f.severity for f in findings), default=None)
    if label == MALICIOUS:
        return worst is not None and worst >= Severity.HIGH
    if label == BENIGN:
        return worst is None or worst < Severity.HIGH
    errors = [f for f in findings if f.rule.endswith(".parse-error")]
    return bool(errors) and all(f.severity <= Severity.MEDIUM for f in errors)


def generate(root: Path) -> list[Sample]:
    """Write the corpus under `root`; deterministic for a given Python version (the Lambda
    samples embed `marshal` output, which is version-specific)."""
    corpus = _Corpus(root)
    _benign_safetensors(corpus)
    _benign_gguf(corpus)
    _benign_onnx(corpus)
    _benign_keras(corpus)
    _benign_hf(corpus)
    _malicious_files(corpus)
    _malicious_hf(corpus)
    _broken(corpus, random.Random(SEED))
    return corpus.samples


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus-formats")
    for path, label, technique in generate(out):
        print(f"{label:9} {path}  — {technique}")
