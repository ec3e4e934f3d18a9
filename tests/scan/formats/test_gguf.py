"""GGUF: metadata known answers (against gguf-py's writer and reader), chat-template injection,
bounded reading of hostile headers, and fuzzing: no input makes the analyzer raise."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
from pathlib import Path

import gguf as gguf_py  # the reference reader/writer (gguf-py, dev dependency)
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sumun.scan.formats import gguf
from sumun.scan.model import FileResult, Severity, Source
from tests.data.scan import gen_formats as gen
from tests.scan.formats.corpus_check import corpus_failures


def _source(data: bytes, path: str = "m.gguf") -> Source:
    return Source(path, len(data), data[:4096], lambda: io.BytesIO(data))


def _file_source(path: Path) -> Source:
    data = path.read_bytes()
    return Source(path.name, len(data), data[:4096], lambda: path.open("rb"))


def _props(result: FileResult) -> dict[str, str]:
    (component,) = result.components
    return dict(component.properties)


def _rules(result: FileResult) -> list[tuple[str, Severity]]:
    return [(f.rule, f.severity) for f in result.findings]


# --- known answers -------------------------------------------------------------------------------
def test_metadata_of_a_generated_model() -> None:
    data = gen.gguf_model(
        "llama",
        "Llama 3.1 Ko 8B",
        15,
        gen.LLAMA3_TEMPLATE,
        license_="llama3.1",
        base_models=gen.LLAMA_BASE,
        extra=[
            ("general.organization", gen.STRING, "Acme AI"),
            ("general.version", gen.STRING, "v1.2"),
            ("general.dataset.count", gen.U32, 1),
            ("general.dataset.0.name", gen.STRING, "KMMLU"),
            ("general.dataset.0.organization", gen.STRING, "HAERAE-HUB"),
        ],
        tensors=[("blk.0.ffn_up.weight", (256, 2), "Q4_K"), ("norm", (32,), "F32")],
    )
    result = gguf.analyze(_source(data))
    assert result.format == "gguf"
    assert result.findings == []
    (component,) = result.components
    assert component.type == "machine-learning-model"
    assert component.name == "Llama 3.1 Ko 8B"
    assert component.version == "v1.2"
    assert component.publisher == "Acme AI"
    assert component.license == "llama3.1"
    assert component.base_models == ("meta-llama/Llama-3.1-8B-Instruct",)
    assert component.datasets == ("HAERAE-HUB/KMMLU",)
    props = dict(component.properties)
    assert props["architecture"] == "llama"
    assert props["quantization"] == "Q4_K_M"
    assert props["parameters"] == str(256 * 2 + 32)
    assert props["tensors"] == "2"
    assert props["tensor_types"] == "F32:1,Q4_K:1"
    assert props["context_length"] == "8192"
    assert props["tags"] == "text-generation,korean"
    assert props["languages"] == "ko,en"
    assert props["chat_templates"] == "tokenizer.chat_template"


def test_files_written_by_gguf_py_are_read(tmp_path: Path) -> None:
    path = tmp_path / "ref.gguf"
    writer = gguf_py.GGUFWriter(str(path), "qwen2")
    writer.add_name("Qwen2.5 0.5B")
    writer.add_organization("Qwen")
    writer.add_license("apache-2.0")
    writer.add_file_type(gguf_py.LlamaFileType.MOSTLY_Q8_0)
    writer.add_context_length(32768)
    writer.add_base_model_count(1)
    writer.add_base_model_name(0, "Qwen2.5 0.5B Base")
    writer.add_base_model_repo_url(0, "https://huggingface.co/Qwen/Qwen2.5-0.5B")
    writer.add_chat_template(
        [{"name": "default", "template": gen.QWEN_TEMPLATE}, {"name": "rag", "template": "{{ x }}"}]
    )
    writer.add_tensor("token_embd.weight", np.ones((8, 4), dtype=np.float32))
    writer.add_tensor("output.weight", np.ones((3,), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    result = gguf.analyze(_file_source(path))
    assert result.findings == []
    (component,) = result.components
    assert (component.name, component.publisher, component.license) == (
        "Qwen2.5 0.5B",
        "Qwen",
        "apache-2.0",
    )
    assert component.base_models == ("Qwen/Qwen2.5-0.5B",)
    props = dict(component.properties)
    assert props["quantization"] == "Q8_0"
    assert props["context_length"] == "32768"
    assert props["parameters"] == "35"
    assert props["chat_templates"] == "tokenizer.chat_template,tokenizer.chat_template.rag"


def test_big_endian_files_from_gguf_py(tmp_path: Path) -> None:
    path = tmp_path / "be.gguf"
    writer = gguf_py.GGUFWriter(str(path), "llama", endianess=gguf_py.GGUFEndian.BIG)
    writer.add_name("big endian")
    writer.add_chat_template(gen.SSTI_TEMPLATES["lipsum-globals"])
    writer.add_tensor("t", np.ones((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    result = gguf.analyze(_file_source(path))
    assert _rules(result) == [("gguf.chat-template-injection", Severity.CRITICAL)]
    assert result.components[0].name == "big endian"
    assert _props(result)["parameters"] == "16"


def test_the_corpus_writer_agrees_with_gguf_py_reader(tmp_path: Path) -> None:
    """Our generator writes spec-valid GGUF: the reference reader parses it and sees the same."""
    samples = gen.generate(tmp_path)
    benign = [tmp_path / p for p, label, _ in samples if label == "benign" and p.endswith(".gguf")]
    assert len(benign) >= 8
    for path in benign:
        reader = gguf_py.GGUFReader(path)
        props = _props(gguf.analyze(_file_source(path)))
        assert props["tensors"] == str(len(reader.tensors))
        assert props["parameters"] == str(sum(int(t.n_elements) for t in reader.tensors))
        name = reader.fields["general.name"]
        assert bytes(name.parts[name.data[0]]).decode() in str(gguf.analyze(_file_source(path)))


def test_version_2_and_unknown_types_are_handled() -> None:
    data = gen.gguf_bytes(
        [("general.name", gen.STRING, "v2"), ("general.file_type", gen.U32, 999)],
        [("t", (32,), "F32")],
        version=2,
    )
    result = gguf.analyze(_source(data))
    assert result.findings == []
    props = _props(result)
    assert props["gguf_version"] == "2"
    assert props["quantization"] == "file_type 999"


def test_tensor_layout_and_truncated_data() -> None:
    whole = gen.gguf_model("llama", "x", 0, None, tensors=[("t", (1024,), "F32")])
    cut = gguf.analyze(_source(whole[:-100]))
    assert _rules(cut) == [("gguf.parse-error", Severity.MEDIUM)]
    assert "truncated" in cut.findings[0].message
    assert cut.components[0].name == "x"  # the metadata still counts

    # the second tensor does not start where the first one ended (padded to 32)
    def infos(second_offset: int) -> bytes:
        header = b"GGUF" + struct.pack("<IQQ", 3, 2, 0)
        for name, offset in (("a", 0), ("b", second_offset)):
            header += gen._gstr(name) + struct.pack("<IQIQ", 1, 8, 0, offset)
        header += bytes(-len(header) % 32)
        return header + bytes(64)

    assert gguf.analyze(_source(infos(32))).findings == []
    result = gguf.analyze(_source(infos(16)))
    assert _rules(result) == [("gguf.invalid-layout", Severity.MEDIUM)]
    assert "offset 16, expected 32" in result.findings[0].message


def test_a_template_before_a_truncation_is_still_checked() -> None:
    template = gen.SSTI_TEMPLATES["cycler-init"].encode()
    data = gen.gguf_model("llama", "cut", 15, template.decode())
    cut = data[: data.index(template) + len(template) + 5]  # inside the tensor infos
    result = gguf.analyze(_source(cut))
    rules = _rules(result)
    assert ("gguf.chat-template-injection", Severity.CRITICAL) in rules
    assert ("gguf.parse-error", Severity.MEDIUM) in rules


def test_named_templates_are_checked() -> None:
    data = gen.gguf_model(
        "llama",
        "named",
        15,
        gen.LLAMA3_TEMPLATE,
        extra=[("tokenizer.chat_template.rag", gen.STRING, gen.SSTI_TEMPLATES["concat-join"])],
    )
    (finding,) = gguf.analyze(_source(data)).findings
    assert finding.severity is Severity.CRITICAL
    assert finding.message.startswith("tokenizer.chat_template.rag: ")
    assert "CVE-2024-34359" in finding.message


def test_an_oversized_template_is_high_and_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gguf, "TEMPLATE_LIMIT", 1000)
    data = gen.gguf_model("llama", "big", 15, " " * 1001 + "{{ x }}")
    result = gguf.analyze(_source(data))
    assert _rules(result) == [("gguf.chat-template-oversized", Severity.HIGH)]
    assert "1008 bytes" in result.findings[0].message


# --- hostile headers -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "claims 4 bytes but only 0 remain"),
        (b"GGML" + bytes(20), "magic is not 'GGUF'"),
        (b"GGUF" + struct.pack("<IQQ", 7, 0, 0), "unsupported GGUF version 7"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 40), "metadata count 1099511627776 exceeds"),
        (b"GGUF" + struct.pack("<IQQ", 3, 1 << 40, 0), "tensor count 1099511627776 exceeds"),
        (
            b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 1 << 60) + b"general.name",
            "claims 1152921504606846976 bytes but only 12 remain",
        ),
        (
            b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gen._gstr("k") + struct.pack("<I", 42),
            "unknown value type 42",
        ),
        (
            b"GGUF"
            + struct.pack("<IQQ", 3, 0, 1)
            + gen._gstr("general.tags")
            + struct.pack("<IIQ", gen.ARRAY, gen.STRING, 1 << 30),
            "claims 1073741824 items",
        ),
        (
            b"GGUF"
            + struct.pack("<IQQ", 3, 0, 1)
            + gen._gstr("tokenizer.ggml.tokens")
            + struct.pack("<IIQ", gen.ARRAY, gen.STRING, 1 << 20)
            + bytes(64),
            "claims 1048576 strings, more than fit",
        ),
        (
            b"GGUF"
            + struct.pack("<IQQ", 3, 0, 1)
            + gen._gstr("nested")
            + struct.pack("<I", gen.ARRAY)
            + struct.pack("<IQ", gen.ARRAY, 1) * 6
            + struct.pack("<IQ", gen.U8, 0),
            "nesting deeper than 4",
        ),
        (
            b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + gen._gstr("t") + struct.pack("<I", 99),
            "99 dimensions",
        ),
    ],
)
def test_hostile_headers_are_parse_errors(data: bytes, message: str) -> None:
    result = gguf.analyze(_source(data))
    assert [f.rule for f in result.findings] == ["gguf.parse-error"]
    assert result.findings[0].severity is Severity.MEDIUM
    assert message in result.findings[0].message


def test_a_2_to_the_60_string_is_rejected_without_allocating() -> None:
    data = (
        b"GGUF"
        + struct.pack("<IQQ", 3, 0, 1)
        + gen._gstr("general.name")
        + struct.pack("<IQ", gen.STRING, 1 << 60)
        + b"x" * 100
    )
    tracemalloc.start()
    try:
        result = gguf.analyze(_source(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "claims 1152921504606846976 bytes" in result.findings[0].message
    assert peak < 1 << 20


def test_a_big_vocabulary_streams_quickly_and_in_little_memory(tmp_path: Path) -> None:
    def model(tokens: int) -> Path:
        vocab = [f"tok{i}" for i in range(tokens)]
        merges = ("tokenizer.ggml.merges", gen.ARRAY, (gen.STRING, vocab))
        path = tmp_path / f"vocab{tokens}.gguf"
        path.write_bytes(gen.gguf_model("llama", "vocab", 15, gen.QWEN_TEMPLATE, extra=[merges]))
        return path

    started = time.perf_counter()
    assert gguf.analyze(_file_source(model(150_000))).findings == []
    assert time.perf_counter() - started < 2.0  # ~0.05 s here: strings are skipped, not read

    small = _file_source(model(20_000))  # tracemalloc slows every allocation down
    tracemalloc.start()
    try:
        result = gguf.analyze(small)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.findings == []
    assert peak < 1 << 20


# --- chat templates ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(gen.BENIGN_TEMPLATES))
def test_real_style_templates_are_not_flagged(name: str) -> None:
    verdict = gguf.inspect_chat_template(gen.BENIGN_TEMPLATES[name])
    assert not verdict.flagged, verdict.reasons


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'Introduce yourself.' }}{% for m in messages %}{{ m.content }}{% endfor %}",
        "{% set ns = namespace(found=false) %}{% set ns.found = true %}{{ ns.found }}",
        "{{ messages | map(attribute='content') | join('\\n') }}",
        "{{ strftime_now('%Y-%m-%d') }} {{ messages[-1]['content'][:100] }}",
        "{{ '<|tool_call_start|>' + tool.name + '_' + tool.id + '<|tool_call_end|>' }}",
        "{# ignore system #}{{ loop.index0 % 2 }}{{ raise_exception('bad role') }}",
        "{{ 'mcp__' + server + '__' + tool.name }}{{ '__end__' }}",
    ],
)
def test_ordinary_jinja_is_not_flagged(template: str) -> None:
    assert not gguf.inspect_chat_template(template).flagged


@pytest.mark.parametrize("style", sorted(gen.SSTI_TEMPLATES))
def test_every_injection_style_is_flagged(style: str) -> None:
    verdict = gguf.inspect_chat_template(gen.SSTI_TEMPLATES[style])
    assert verdict.severity is not None
    assert verdict.severity >= Severity.HIGH


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "dunder __mro__"),
        (
            "{{ self._TemplateReference__context }}",
            "name-mangled private _TemplateReference__context",
        ),
        ("{{ x['\\x5f\\x5fglobals\\x5f\\x5f'] }}", "dunder __globals__"),
        ("{{ x['\\137\\137init\\137\\137'] }}", "dunder __init__"),
        ("{{ x['\\N{LOW LINE}\\N{LOW LINE}dict\\N{LOW LINE}\\N{LOW LINE}'] }}", "dunder __dict__"),
        ("{{ x[('__gl' 'obals__')] }}", "dunder __globals__"),
        ("{{ x|attr('__ssalc__'|reverse) }}", "dunder __class__ (reversed)"),
        ("{{ lipsum['x'] }}", "Jinja global lipsum used as a gadget"),
        ("{{ joiner|attr('y') }}", "Jinja global joiner used as a gadget"),
        ("{{ g.gi_frame.f_back }}", "interpreter internals gi_frame"),
        ("{{ m.os.popen('id') }}", "call os.popen"),
        ("{{ importlib.import_module('os') }}", "call import_module"),
    ],
)
def test_injection_reasons_are_named(template: str, reason: str) -> None:
    verdict = gguf.inspect_chat_template(template)
    assert verdict.severity is Severity.CRITICAL
    assert reason in verdict.reasons


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ x|attr(name) }}", "the |attr filter (reads arbitrary attributes)"),
        ("{% set u = '%c'|format(95) %}", "'%c' formatting (builds names from codes)"),
        ("{{ 'XXinitXX'|replace('X', '_') }}", "replace(…, '_') (builds underscores)"),
        ("{{ '_' * 2 ~ 'init' }}", "string multiplication of '_'"),
        ("{{ (x|string|list)[4] }}", "|string|list (picks characters from reprs)"),
        ("{{ '{0.a}'.format(x) }}", "str.format field access"),
        ("{{ x._private }}", "an attribute starting with '_'"),
        ("{{ x['_private'] }}", "a key starting with '_'"),
        ("{% include 'other.j2' %}", "{% include/import/extends %}"),
    ],
)
def test_obfuscation_primitives_are_high(template: str, reason: str) -> None:
    verdict = gguf.inspect_chat_template(template)
    assert verdict.severity is Severity.HIGH
    assert verdict.reasons == (reason,)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_inspect_chat_template_never_raises(text: str) -> None:
    verdict = gguf.inspect_chat_template(text)
    assert verdict.flagged == (verdict.severity is not None)


# --- fuzzing -------------------------------------------------------------------------------------
def test_sniff() -> None:
    assert gguf.sniff(gen.gguf_model("llama", "x", 0, None)[:64])
    assert not gguf.sniff(b"GGML" + bytes(8))
    assert not gguf.sniff(b"")


_VALID = gen.gguf_model(
    "llama", "fuzz", 15, gen.DEEPSEEK_TEMPLATE, tensors=[("t", (64, 2), "Q8_0")]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = gguf.analyze(_source(b"GGUF" + data))
    assert isinstance(result, FileResult)
    assert all(f.severity <= Severity.CRITICAL for f in result.findings)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    st.integers(0, len(_VALID)),
)
def test_mutated_files_never_raise(mutations: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(_VALID)
    for offset, value in mutations:
        data[offset] = value
    result = gguf.analyze(_source(bytes(data[: max(cut, 24)])))
    assert isinstance(result, FileResult)
    for finding in result.findings:
        if finding.rule == "gguf.parse-error":
            assert finding.severity is Severity.MEDIUM


# --- the corpus ----------------------------------------------------------------------------------
def test_corpus_samples_meet_their_labels(format_corpus: tuple[Path, list[gen.Sample]]) -> None:
    assert corpus_failures(format_corpus, (".gguf",), gguf.analyze) == []
