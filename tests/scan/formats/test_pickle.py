"""Pickle analyzer: known-answer tests per technique class, benign kinds, policy, sniffing.

Every malicious input is built as bytes (tests/data/scan/gen_pickle.py) and only ever replayed
symbolically: nothing here unpickles anything.
"""

from __future__ import annotations

import io
import pickle
import re
import struct
import zlib
from pathlib import Path
from typing import IO

import pytest

from sumun.scan.formats import _pickle_io, _pickle_vm
from sumun.scan.formats import pickle as pk
from sumun.scan.formats._pickle_policy import (
    DEFAULT_POLICY,
    GlobalPolicy,
    VerdictKind,
    policy_from_env,
)
from sumun.scan.model import FileResult, Severity, Source
from tests.data.scan import gen_pickle as gen
from tests.data.scan.gen_pickle import G, R, call, dumps


def _source(data: bytes, name: str = "model.pkl") -> Source:
    return Source(name, len(data), data[:4096], lambda: io.BytesIO(data))


def _analyze(data: bytes, name: str = "model.pkl", **kw: object) -> FileResult:
    return pk.analyze(_source(data, name), **kw)  # type: ignore[arg-type]


def _rules(result: FileResult) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for f in result.findings:
        out[f.rule] = max(out.get(f.rule, Severity.INFO), f.severity)
    return out


def _worst(result: FileResult) -> Severity | None:
    return max((f.severity for f in result.findings), default=None)


def _message(result: FileResult, rule: str) -> str:
    return "\n".join(f.message for f in result.findings if f.rule == rule)


MALICIOUS = gen.malicious_streams()


# --- every technique stream is critical or high ---
@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_every_malicious_stream_is_flagged(name: str) -> None:
    data, technique = MALICIOUS[name]
    worst = _worst(_analyze(data, name))
    assert worst is not None and worst >= Severity.HIGH, technique


@pytest.mark.parametrize(
    ("name", "rule", "pattern"),
    [
        ("reduce_os_system.pkl", "pickle.dangerous-global", r"calls os\.system, which runs code"),
        (
            "posix_system.pkl",
            "pickle.dangerous-global",
            r"calls posix\.system, .*GLOBAL at offset 2",
        ),
        ("builtins_eval_inst.pkl", "pickle.dangerous-global", r"calls __builtin__\.eval, .*INST"),
        ("builtins_exec_obj.pkl", "pickle.dangerous-global", r"calls builtins\.exec"),
        ("stack_global_memo.pkl", "pickle.dangerous-global", r"calls os\.system, .*STACK_GLOBAL"),
        ("memo_put_memoize_confusion.pkl", "pickle.dangerous-global", r"calls os\.system"),
        ("subprocess_binunicode8.pkl", "pickle.dangerous-global", r"subprocess\.check_output"),
        ("protocol0_text.pkl", "pickle.dangerous-global", r"calls os\.system"),
        ("py2_builtin_apply.pkl", "pickle.dangerous-global", r"calls __builtin__\.apply"),
        ("nested_pickle_loads.pkl", "pickle.nested-pickle", r"calls pickle\.loads, which deser"),
        ("nested__pickle_loads.pkl", "pickle.nested-pickle", r"calls _pickle\.loads"),
        ("marshal_functiontype.pkl", "pickle.nested-pickle", r"calls marshal\.loads"),
        ("functools_partial.pkl", "pickle.indirect-call", r"result of functools\.partial"),
        ("operator_attrgetter.pkl", "pickle.dangerous-global", r"operator\.attrgetter"),
        ("getattr_import_chain.pkl", "pickle.indirect-call", r"result of builtins\.getattr"),
        ("importlib_getattr_chain.pkl", "pickle.dangerous-global", r"importlib\.import_module"),
        ("runpy_run_code.pkl", "pickle.dangerous-global", r"runpy\._run_code"),
        ("code_interactive_runcode.pkl", "pickle.dangerous-global", r"InteractiveInterpreter"),
        ("bdb_run.pkl", "pickle.dangerous-global", r"bdb\.Bdb\.run"),
        ("timeit_timeit.pkl", "pickle.dangerous-global", r"timeit\.timeit"),
        ("cprofile_run.pkl", "pickle.dangerous-global", r"cProfile\.runctx"),
        ("trace_runctx.pkl", "pickle.dangerous-global", r"trace\.Trace\.runctx"),
        ("pydoc_locate.pkl", "pickle.indirect-call", r"result of pydoc\.locate"),
        ("pkgutil_resolve_name.pkl", "pickle.dangerous-global", r"pkgutil\.resolve_name"),
        ("ctypes_cdll.pkl", "pickle.dangerous-global", r"ctypes\.CDLL"),
        ("webbrowser_open.pkl", "pickle.dangerous-global", r"opens network connections"),
        ("shutil_rmtree.pkl", "pickle.dangerous-global", r"deletes files"),
        ("idlelib_runcode.pkl", "pickle.dangerous-global", r"idlelib\.pyshell"),
        ("lib2to3_make_label.pkl", "pickle.dangerous-global", r"lib2to3"),
        ("torch_hub_load.pkl", "pickle.dangerous-global", r"torch\.hub\.load"),
        ("torch_bottleneck.pkl", "pickle.dangerous-global", r"torch\.utils\.bottleneck"),
        ("numpy_load_nested.pkl", "pickle.nested-pickle", r"numpy\.load"),
        ("scanner_tamper.pkl", "pickle.dangerous-global", r"tampers with security scanners"),
        ("numpy_builtins_dict_get.pkl", "pickle.dangerous-global", r"numpy\.__builtins__"),
        ("numpy_sys_modules.pkl", "pickle.build-on-global", r"numpy\.prod itself"),
        ("numpy_size_builtins.pkl", "pickle.build-on-global", r"numpy\.size itself"),
        ("build_setattr_module.pkl", "pickle.dynamic-global", r"module numpy\.prod\.a"),
        ("dotted_attribute_escape.pkl", "pickle.dangerous-global", r"pathlib\.os\.system"),
        ("setstate_injection.pkl", "pickle.setstate-injection", r"__setstate__"),
        ("ext1_registry.pkl", "pickle.indirect-call", r"extension-registry entry 1\b"),
        ("binpersid_payload.pkl", "pickle.dangerous-global", r"calls os\.system"),
        ("text_prefix.pkl", "pickle.dangerous-global", r"calls posix\.system"),
        ("appended_after_stop.pkl", "pickle.dangerous-global", r"calls posix\.system"),
    ],
)
def test_technique_known_answers(name: str, rule: str, pattern: str) -> None:
    result = _analyze(MALICIOUS[name][0], name)
    assert rule in _rules(result)
    assert _rules(result)[rule] is Severity.CRITICAL
    assert re.search(pattern, _message(result, rule)), _message(result, rule)


def test_messages_show_only_a_short_escaped_preview_of_arguments() -> None:
    secret = "curl http://127.0.0.1:9/x | sh; " + "A" * 200 + "\x1b[31m"
    result = _analyze(dumps(call("os", "system", secret), 4))
    message = _message(result, "pickle.dangerous-global")
    assert "first argument 'curl http://127.0.0.1:9/x | sh; AAAAAAAA'…" in message
    assert "A" * 41 not in message
    assert "\x1b" not in message


def test_control_characters_in_global_names_are_escaped() -> None:
    data = b"\x80\x04\x8c\x04evil\x8c\x07\x1b[2Jfoo\x93."
    message = _message(_analyze(data), "pickle.unknown-global")
    assert "\x1b" not in message
    assert r"'evil.\x1b[2Jfoo'" in message


# --- stack and memo semantics ---
def test_memoize_stores_at_the_number_of_memo_entries_like_cpython() -> None:
    # PUT 5 then MEMOIZE: the memo has one entry, so MEMOIZE writes index 1 (not 6, not 0)
    data = (
        b"\x80\x04\x8c\x05decoyq\x05\x8c\x02os\x94\x8c\x06system\x94h\x01h\x02\x93\x8c\x01x\x85R."
    )
    assert "calls os.system" in _message(_analyze(data), "pickle.dangerous-global")


def test_pop_on_an_empty_stack_after_mark_pops_the_mark() -> None:
    data = b"\x80\x04(0\x8c\x02os\x8c\x06system\x93\x8c\x01x\x85R."
    result = _analyze(data)
    assert "calls os.system" in _message(result, "pickle.dangerous-global")
    assert "pickle.parse-error" not in _rules(result)


def test_protocol0_get_and_put_resolve_globals() -> None:
    data = b"Vos\np0\n0Vsystem\np1\n0g0\ng1\n\x93(Vx\ntR."
    assert "calls os.system" in _message(_analyze(data), "pickle.dangerous-global")


def test_stack_global_over_a_bytes_operand_is_high_not_critical() -> None:
    result = _analyze(MALICIOUS["stack_global_bytes_operand.pkl"][0])
    assert _rules(result)["pickle.dynamic-global"] is Severity.HIGH
    assert "module a value of type bytes" in _message(result, "pickle.dynamic-global")


def test_memo_budget_overflow_reports_unresolved_globals_as_high(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_pickle_vm, "_MEMO_SOFT", 200)
    monkeypatch.setattr(_pickle_vm, "_MEMO_HARD", 400)
    # memo 0..9: strings that are not name-like; only the first two fit the soft budget
    fill = b"".join(b"\x8c\x05a b c\x940" for _ in range(10))
    # memo 10, 11: name-like strings are still kept, up to the hard budget
    data = b"\x80\x04" + fill + b"\x8c\x02os\x94\x8c\x06system\x9400"
    result = _analyze(data + b"h\x0ah\x0b\x93\x8c\x01x\x85R.")
    assert "calls os.system" in _message(result, "pickle.dangerous-global")
    result2 = _analyze(b"\x80\x04" + fill + b"h\x05h\x05\x93.")
    assert _rules(result2)["pickle.dynamic-global"] is Severity.HIGH
    assert "dropped at the analysis memory limit" in _message(result2, "pickle.dynamic-global")


def test_stack_cap_stops_with_a_high_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pickle_vm, "_STACK_CAP", 1000)
    data = b"\x80\x04" + b"N" * 40_000 + b"."
    result = _analyze(data)
    assert _rules(result)["pickle.analysis-limit"] is Severity.HIGH
    assert "values on the unpickling stack" in _message(result, "pickle.analysis-limit")


def test_lean_mode_past_the_value_budget_still_judges_correctly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_pickle_vm, "_VALUE_BUDGET", 0)
    s = gen.Storages()
    assert _analyze(dumps(gen.state_dict(s, gen.MLP), 2)).findings == []
    assert _analyze(_old_joblib_wrapper(bytes(40), aligned=True)).findings == []
    for name in ("reduce_os_system.pkl", "stack_global_memo.pkl", "getattr_import_chain.pkl"):
        assert _worst(_analyze(MALICIOUS[name][0])) is Severity.CRITICAL


def test_more_than_fifty_unknown_globals_are_summarised() -> None:
    data = b"\x80\x02" + b"".join(f"cpkg{i}\nThing\n0".encode() for i in range(60)) + b"N."
    result = _analyze(data)
    unknown = [f for f in result.findings if f.rule == "pickle.unknown-global"]
    assert len(unknown) == 51
    assert unknown[-1].message == "… and 10 more globals not on the allowlist"


# --- streams: several pickles, trailing data, legacy torch, joblib ---
def test_every_pickle_in_the_stream_is_replayed() -> None:
    first = dumps({"a": 1}, 2)
    result = _analyze(first + first + dumps(call("posix", "system", "x"), 2))
    assert "pickle.dangerous-global" in _rules(result)
    assert "holds 3 pickles" in _message(result, "pickle.multiple-pickles")


def test_garbage_after_stop_is_trailing_data() -> None:
    result = _analyze(dumps([1, 2], 4) + b"\x00\x01\x02garbage")
    assert _rules(result) == {"pickle.trailing-data": Severity.MEDIUM}
    assert "10 bytes from offset" in _message(result, "pickle.trailing-data")


def test_legacy_torch_stops_after_five_pickles_and_ignores_storage_bytes() -> None:
    s = gen.Storages(legacy=True)
    obj = gen.state_dict(s, gen.MLP)
    parts = [
        dumps(0x1950A86A20F9469CFC6C, 2),
        dumps(1001, 2),
        dumps({"protocol_version": 1001}, 2),
        dumps(obj, 2),
        dumps(list(s.data), 2),
        dumps(call("posix", "system", "x"), 2),  # storage bytes that happen to look like this
    ]
    result = _analyze(b"".join(parts), "legacy.pt")
    assert result.findings == []
    assert result.format == "pytorch"
    (component,) = result.components
    assert component.name == "legacy"
    assert dict(component.properties) == {
        "format": "pytorch",
        "pickle_protocol": "2",
        "tensors": "4",
        "framework": "torch",
    }


def test_joblib_arrays_are_skipped_and_the_stream_continues() -> None:
    np = pytest.importorskip("numpy")
    joblib = pytest.importorskip("joblib")
    buf = io.BytesIO()
    joblib.dump({"a": np.zeros((300, 300)), "b": np.array(["x", "yz"]), "c": 3}, buf)
    result = _analyze(buf.getvalue(), "model.joblib")
    assert result.findings == []
    assert result.format == "joblib"


def _old_joblib_wrapper(array_bytes: bytes, *, aligned: bool) -> bytes:
    dtype = R(G("numpy", "dtype"), ("u1", False, True), state=(3, "|", None, None, None, -1, -1, 0))
    state: dict[object, object] = {
        "subclass": G("numpy", "ndarray"),
        "shape": (len(array_bytes),),
        "order": "C",
        "dtype": dtype,
        "allow_mmap": False,
    }
    if aligned:
        state["numpy_array_alignment_bytes"] = 16
    wrapper = gen.NewObj(G("joblib.numpy_pickle", "NumpyArrayWrapper"), (), state)
    head = dumps([wrapper], 4)[:-2]  # ... APPEND and STOP are written after the array
    pad = b"\x10" + b"\xff" * 16 if aligned else b""
    return head + pad + array_bytes + b"a."


def test_joblib_array_bytes_that_pickle_load_would_run_are_reported() -> None:
    payload = dumps(call("posix", "system", "echo pwned"), 4)
    result = _analyze(_old_joblib_wrapper(payload, aligned=False), "old.joblib")
    assert _rules(result)["pickle.joblib-ambiguous"] is Severity.CRITICAL
    assert "posix.system when read with pickle.load" in _message(result, "pickle.joblib-ambiguous")
    aligned = _analyze(_old_joblib_wrapper(payload, aligned=True), "new.joblib")
    assert aligned.findings == []


def test_compressed_joblib_streams_are_decompressed() -> None:
    data = zlib.compress(dumps(call("os", "system", "x"), 4))
    result = _analyze(data, "model.joblib.z")
    assert result.format == "joblib"
    assert "calls os.system" in _message(result, "pickle.dangerous-global")


def test_a_raw_pickle_that_starts_like_bz2_is_still_replayed() -> None:
    # BINBYTES with the length b"Zh9\x00" (~3.7 MB of padding), then the payload
    length = int.from_bytes(b"Zh9\x00", "little")
    data = b"BZh9\x00" + bytes(length) + b"0" + dumps(call("os", "system", "x"), 4)[2:]
    assert data.startswith(b"BZh9")
    result = _analyze(data, "model.bin")
    assert result.format == "pickle"
    assert _rules(result)["pickle.dangerous-global"] is Severity.CRITICAL


def test_decompression_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    def capped(stream: IO[bytes], kind: str) -> _pickle_io.SoftStream:
        return _pickle_io.open_decompressed(stream, kind, cap=1 << 20)

    monkeypatch.setattr(pk, "open_decompressed", capped)
    big = b"\x80\x04\x8e" + struct.pack("<Q", 8 << 20) + bytes(8 << 20) + b"."
    data = zlib.compress(big)
    result = _analyze(data, "bomb.joblib.z")
    assert _rules(result)["pickle.analysis-limit"] is Severity.HIGH
    assert "1 MiB after decompression (limit)" in _message(result, "pickle.analysis-limit")


# --- parse errors ---
@pytest.mark.parametrize(
    ("data", "severity", "pattern"),
    [
        (b"", Severity.INFO, r"^empty file: nothing to load$"),
        (b"\x80\x04\x8c\x05ab", Severity.MEDIUM, r"ends inside a pickle \(truncated\)"),
        (b"\x80\x04\xff.", Severity.MEDIUM, r"unknown opcode 0xff at offset 2"),
        (b"\x80\x02R.", Severity.MEDIUM, r"stack underflow at offset 2"),
        (b"S'unquoted\n.", Severity.MEDIUM, r"STRING opcode argument must be quoted"),
        (b"(dd.", Severity.MEDIUM, r"could not find MARK"),
    ],
)
def test_parse_errors(data: bytes, severity: Severity, pattern: str) -> None:
    result = _analyze(data)
    (finding,) = result.findings
    assert finding.rule == "pickle.parse-error"
    assert finding.severity is severity
    assert re.search(pattern, finding.message), finding.message


def test_an_unreadable_file_is_a_parse_error_not_an_exception() -> None:
    def boom() -> io.BytesIO:
        raise PermissionError("denied")

    result = pk.analyze(Source("x.pkl", 10, b"\x80\x04", boom))
    assert [(f.rule, f.message) for f in result.findings] == [
        ("pickle.parse-error", "cannot read: PermissionError")
    ]


# --- benign ---
@pytest.mark.parametrize("proto", range(6))
def test_plain_containers_at_every_protocol_are_clean(proto: int) -> None:
    value = {"a": [1, 2.5, "x", None, True], "b": (1, (2, 3)), "c": {1, 2}, "d": b"\x00\xff" * 9}
    result = _analyze(pickle.dumps(value, proto))
    assert result.findings == []


@pytest.mark.parametrize("proto", [2, 4])
def test_torch_state_dict_pickle_is_clean_and_counted(proto: int) -> None:
    s = gen.Storages()
    result = _analyze(dumps(gen.state_dict(s, gen.MLP), proto), "weights.pkl")
    assert result.findings == []
    (component,) = result.components
    assert dict(component.properties)["tensors"] == "4"


def test_numpy_and_stdlib_values_are_clean() -> None:
    np = pytest.importorskip("numpy")
    import collections
    import datetime
    import decimal

    value = {
        "x": np.arange(5),
        "rng": np.random.RandomState(0),
        "gen": np.random.default_rng(1),
        "when": datetime.datetime(2024, 1, 1),
        "d": decimal.Decimal("1.5"),
        "od": collections.OrderedDict(a=1),
        "dd": collections.defaultdict(list),
    }
    for proto in (2, 4, 5):
        assert _analyze(pickle.dumps(value, proto)).findings == []


def test_codecs_encode_with_another_encoding_is_suspicious() -> None:
    data = dumps(call("_codecs", "encode", "payload", "rot13"), 4)
    result = _analyze(data)
    assert _rules(result) == {"pickle.suspicious-call": Severity.HIGH}
    assert "encoding 'rot13'" in _message(result, "pickle.suspicious-call")


# --- policy ---
@pytest.mark.parametrize(
    ("module", "name", "kind"),
    [
        ("torch._utils", "_rebuild_tensor_v2", VerdictKind.ALLOWED),
        ("torch", "BFloat16Storage", VerdictKind.ALLOWED),
        ("torch.cuda", "FloatStorage", VerdictKind.ALLOWED),
        ("__builtin__", "set", VerdictKind.ALLOWED),
        ("copy_reg", "_reconstructor", VerdictKind.ALLOWED),
        ("numpy.random._pickle", "__randomstate_ctor", VerdictKind.ALLOWED),
        ("__main__", "Net", VerdictKind.UNKNOWN),
        ("sklearn.linear_model._logistic", "LogisticRegression", VerdictKind.ALLOWED),  # trusted
        ("os", "system", VerdictKind.DANGEROUS),
        ("os.path", "join", VerdictKind.DANGEROUS),
        ("pathlib", "os.system", VerdictKind.DANGEROUS),
        ("numpy.random._pickle", "os.system", VerdictKind.DANGEROUS),
        ("torch", "hub.load", VerdictKind.DANGEROUS),
        ("numpy", "__builtins__", VerdictKind.DANGEROUS),
        ("collections", "OrderedDict.__globals__", VerdictKind.DANGEROUS),
        ("cPickle", "loads", VerdictKind.NESTED),
        ("torch", "load", VerdictKind.NESTED),
        ("os system", "x", VerdictKind.UNKNOWN),
    ],
)
def test_policy_judgements(module: str, name: str, kind: VerdictKind) -> None:
    assert DEFAULT_POLICY.judge(module, name).kind is kind


def test_configuration_widens_the_allowlist_but_never_for_dangerous_names() -> None:
    policy = DEFAULT_POLICY.extended(["sklearn.*", "mypkg.Model", "os.system"])
    assert policy.judge("sklearn.tree._classes", "DecisionTreeClassifier").kind is (
        VerdictKind.ALLOWED
    )
    assert policy.judge("mypkg", "Model").kind is VerdictKind.ALLOWED
    assert policy.judge("mypkg", "Other").kind is VerdictKind.UNKNOWN
    assert policy.judge("os", "system").kind is VerdictKind.DANGEROUS
    assert policy.judge("sklearn", "__builtins__").kind is VerdictKind.DANGEROUS


@pytest.mark.parametrize("entry", ["os system", "numpy.__builtins__", "*", "bare"])
def test_bad_allowlist_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match=r"not a (module\.name global|module name)"):
        GlobalPolicy().extended([entry])


def test_the_environment_variable_extends_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    data = dumps(R(G("sklearn.linear_model", "LogisticRegression")), 4)
    assert "pickle.unknown-global" in _rules(_analyze(data))
    monkeypatch.setenv("SUMUN_SCAN_PICKLE_ALLOW", "sklearn.*, xgboost.core.Booster")
    assert _analyze(data).findings == []
    assert policy_from_env({"SUMUN_SCAN_PICKLE_ALLOW": "x.y"}).judge("x", "y").kind is (
        VerdictKind.ALLOWED
    )


def test_a_bad_environment_allowlist_is_reported_and_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUMUN_SCAN_PICKLE_ALLOW", "os system")
    result = _analyze(dumps([1], 4))
    assert [(f.rule, f.severity) for f in result.findings] == [
        ("pickle.config-error", Severity.MEDIUM)
    ]
    assert "not a module.name global: 'os'" in result.findings[0].message


def test_an_explicit_policy_is_used_as_given() -> None:
    data = dumps(R(G("mypkg", "Model")), 2)
    assert _analyze(data, policy=DEFAULT_POLICY.extended(["mypkg.Model"])).findings == []


# --- sniffing ---
@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_sniff_recognises_every_technique_stream(name: str) -> None:
    assert pk.sniff(MALICIOUS[name][0][:4096])


@pytest.mark.parametrize(
    "head",
    [
        pickle.dumps({"a": 1}, 0),
        pickle.dumps([1, 2, 3], 1),
        pickle.dumps("x", 5),
        zlib.compress(pickle.dumps({"a": 1}, 4)),
        b"(lp0\n" + b"I1\na" * 2000,  # a long protocol-0 list: no STOP within the head
    ],
)
def test_sniff_accepts_pickles(head: bytes) -> None:
    assert pk.sniff(head[:4096])


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"N.",
        b"# README\n\nThis is a model card.\n",
        b"import os\nprint('hello')\n",
        b"class Net:\n    pass\n",
        b"(c) 2024 Example Corp\nAll rights reserved.\n",
        b'{"architectures": ["BertModel"]}',
        b"The quick brown fox jumps over the lazy dog.\n" * 20,
        b"col_a,col_b\n1,2\n",
        b"\x89PNG\r\n\x1a\n" + bytes(100),
        b"PK\x03\x04" + bytes(100),
        b"\x93NUMPY\x01\x00",
        zlib.compress(b"plain text, not a pickle " * 10),
        b"((((((((((((((((",
    ],
)
def test_sniff_rejects_other_files(head: bytes) -> None:
    assert not pk.sniff(head)


def test_generated_files_written_by_the_corpus_are_pickles(tmp_path: Path) -> None:
    path = tmp_path / "x.pkl"
    path.write_bytes(MALICIOUS["reduce_os_system.pkl"][0])
    source = Source("x.pkl", path.stat().st_size, path.read_bytes()[:4096], lambda: path.open("rb"))
    assert pk.sniff(source.head)
    assert "pickle.dangerous-global" in _rules(pk.analyze(source))
