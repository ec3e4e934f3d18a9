"""A symbolic unpickler: replays a pickle's stack and memo without importing or calling anything.

What it must get right is *which globals a stream imports and which of them get called*, even
when the stream works to hide it. The tricks it models come from bypasses published against
picklescan, modelscan and fickling:

- module/name strings for STACK_GLOBAL fetched from the memo (`BINGET`), mixed PUT/MEMOIZE memo
  layouts (picklescan #14: MEMOIZE stores at `len(memo)`, like CPython), strings of any opcode
  (`STRING`, `BINSTRING`, `UNICODE`, `BINUNICODE8`, …);
- STACK_GLOBAL operands that are not literal strings (the result of a call, an attribute set by
  BUILD on a module object — modelscan #85, #330, #331) ⇒ a *dynamic global*;
- calling something that is not an imported global (the result of `getattr`, an EXT registry
  entry) ⇒ an *indirect call*;
- BUILD applied to a global (setting attributes on a module or function) and state dicts that
  carry `__setstate__`/`__reduce__` keys;
- INST and OBJ, which import and call in one opcode (picklescan #13, modelscan #51);
- several pickles in one stream (legacy `torch.save` writes five; a payload appended after the
  first STOP is a known bypass) and joblib streams, whose raw array bytes follow each
  `NumpyArrayWrapper` BUILD (object arrays follow as a nested pickle).

Memory is bounded whatever the input: long payloads are skipped by the reader, strings and
containers are kept only in a small, flat form, the memo keeps what it needs to resolve
globals (strings, globals) within a byte budget, and the stack has a size cap. A value the
budget dropped is `LOST`; resolving a global through it is reported (high), never guessed.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sumun.scan.formats._pickle_ops import OPCODE_NAMES, OpReader, Truncated

__all__ = [
    "LEGACY_TORCH_MAGIC",
    "Event",
    "GlobalUse",
    "Probe",
    "Walk",
    "probe",
    "safe_name",
    "walk",
]

# --- limits -----------------------------------------------------------------------------------
_STR_KEEP = 256  # longer strings become a Blob (64-byte head)
_DATA_KEEP = 1024  # byte payloads up to this are kept (previews, `_codecs.encode` checks)
_LINE_KEEP = 4096  # protocol 0 text arguments
_STACK_CAP = 50_000  # items on the stack and under every MARK together
_META_CAP = 10_000  # nested MARKs
_VALUE_BUDGET = 48 << 20  # approximate bytes of values built before "lean" mode
_MEMO_SOFT = 16 << 20  # memo bytes retained for anything
_MEMO_HARD = 32 << 20  # … and for globals and name-like strings only
_SPARSE_CAP = 100_000  # out-of-order memo indices tracked
_MAX_PICKLES = 10_000  # pickles in one stream
_MAX_NESTING = 4  # joblib object arrays inside object arrays
_MAX_EVENTS = 64
_SIDE_WINDOW = 1 << 20

LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_JOBLIB_WRAPPERS = frozenset(
    {
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    }
)
_NUMPY_DTYPE = "numpy.dtype"
_TENSOR_REBUILDS = frozenset(
    f"torch._utils.{name}"
    for name in (
        "_rebuild_tensor",
        "_rebuild_tensor_v2",
        "_rebuild_tensor_v3",
        "_rebuild_qtensor",
        "_rebuild_sparse_tensor",
        "_rebuild_nested_tensor",
        "_rebuild_meta_tensor_no_storage",
        "_rebuild_wrapper_subclass",
        "_rebuild_device_tensor_from_numpy",
    )
)
_NAMELIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,127}")
_PRINTABLE = re.compile(r"[\w.<>…-]{1,160}")
_DUNDER = re.compile(r"__\w+__")
_LATIN1 = frozenset({"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1"})


# --- symbolic values ---------------------------------------------------------------------------
class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


OTHER = _Sentinel("other")  # a concrete value of no interest (list, set, float, …): never a str
LOST = _Sentinel("lost")  # dropped at the memory budget: could have been anything
PERSISTED = _Sentinel("persistent-load result")
UNRESOLVED = _Sentinel("unresolved global")  # what a STACK_GLOBAL of computed names yields
_MISSING = _Sentinel("missing")


@dataclass(frozen=True, slots=True)
class Global:
    module: str
    name: str

    @property
    def full(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True, slots=True)
class Ext:
    code: int


@dataclass(frozen=True, slots=True)
class Blob:
    """A string or byte payload too long to keep: its size and first bytes."""

    kind: str  # "str" | "bytes" | "bytearray"
    size: int
    head: bytes


class Call:
    """The result of calling something. Arguments are not kept (memory), only what we need."""

    __slots__ = ("callee", "desc", "dtype")

    def __init__(self, callee: Global | None, desc: str) -> None:
        self.callee = callee
        self.desc = desc  # what was called, for messages ("os.system", "the result of …")
        self.dtype: tuple[int, bool] | None = None  # numpy.dtype results: (itemsize, hasobject)


class DictVal:
    """A dict under construction: a few flat items (joblib wrapper state) and any dunder keys."""

    __slots__ = ("dunders", "items")

    def __init__(self) -> None:
        self.items: dict[str, object] = {}
        self.dunders: list[str] = []


# --- what the walk observed -----------------------------------------------------------------------
@dataclass(slots=True)
class GlobalUse:
    module: str
    name: str
    opcode: str  # the first opcode that imported it
    offset: int
    imports: int = 0
    calls: int = 0
    preview: str | None = None  # a short escaped preview of the first call's first argument


@dataclass(frozen=True, slots=True)
class Event:
    """A structural observation: `kind` is the rule suffix, `severe` picks critical over high."""

    kind: str
    offset: int
    detail: str
    severe: bool


@dataclass(slots=True)
class Walk:
    uses: dict[tuple[str, str], GlobalUse] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    limit: str | None = None
    trailing: tuple[int, int | None, str] | None = None  # (offset, size if known, why)
    protocols: set[int] = field(default_factory=set)
    pickles: int = 0
    ops: int = 0
    storages: int = 0
    tensors: int = 0
    joblib_arrays: int = 0
    legacy_torch: bool = False
    empty: bool = False
    spent: int = 0  # approximate bytes of symbolic values built (lean mode above a budget)

    def event(self, kind: str, offset: int, detail: str, *, severe: bool) -> None:
        if len(self.events) < _MAX_EVENTS:
            self.events.append(Event(kind, offset, detail, severe))

    def error(self, offset: int, message: str) -> None:
        if len(self.errors) < 16:
            self.errors.append((offset, message))


class _Malformed(Exception):  # noqa: N818 - internal signal, never escapes
    """The real unpickler would raise here (bad opcode, bad argument, stack underflow)."""


class _Limit(Exception):  # noqa: N818 - internal signal, never escapes
    """A resource cap was reached; the rest of the stream is not vetted."""


class _Stop(Exception):  # noqa: N818 - internal signal, never escapes
    def __init__(self, value: object) -> None:
        super().__init__()
        self.value = value


def _preview(value: object) -> str | None:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        text = value.decode("latin-1")
    elif isinstance(value, Blob):
        text = value.head.decode("utf-8" if value.kind == "str" else "latin-1", "replace")
    else:
        return None
    cut = text[:40]
    return ascii(cut) + ("…" if len(text) > 40 or isinstance(value, Blob) else "")


def safe_name(name: str) -> str:
    """A name from the file, fit for a message: as is if plain, else escaped and cut."""
    return name if _PRINTABLE.fullmatch(name) else ascii(name[:160])


def _describe(value: object) -> str:  # noqa: PLR0911 - one line per kind of value
    if isinstance(value, Global):
        return safe_name(value.full)
    if isinstance(value, Call):
        return f"the result of {value.desc}(…)"
    if isinstance(value, Ext):
        return f"extension-registry entry {value.code}"
    if value is LOST:
        return "a value dropped at the analysis memory limit"
    if value is PERSISTED:
        return "a persistent-load object"
    if value is UNRESOLVED:
        return "a global whose name the analysis could not resolve"
    if isinstance(value, str):
        return f"the string {_preview(value)}"
    if isinstance(value, Blob):
        return f"a {value.size}-byte {value.kind}"
    if value is OTHER:
        return "a non-string value"
    return f"a value of type {type(value).__name__}"


def _maybe_str(value: object) -> bool:
    """Could this be a `str` when really unpickled? (True for anything computed at load time.)"""
    return isinstance(value, (Global, Call, Ext)) or value in (LOST, PERSISTED, UNRESOLVED)


def _dtype_from_typestr(typestr: object) -> tuple[int, bool] | None:
    if not isinstance(typestr, str):
        return None
    match = re.fullmatch(r"[|<>=]?([a-zA-Z?]+)(\d*)", typestr)
    if match is None:
        return None
    kind, digits = match.groups()
    if kind.startswith("O"):
        return (8, True)
    if kind in ("?", "b") and not digits:
        return (1, False)
    if not digits:
        return None
    return (int(digits), False)


def _memo_cost(value: object) -> tuple[int, bool] | None:  # noqa: PLR0911 - one per kind
    """(bytes, name-like) of a value worth keeping in the memo, or None to drop it.

    Kept: what resolving globals and joblib arrays needs. A dropped value reads back as OTHER
    (a concrete non-string), which is what it is.
    """
    if type(value) is str:
        return 64 + len(value), _NAMELIKE.fullmatch(value) is not None
    if type(value) is Global or type(value) is Ext:
        return 48, True
    if type(value) is tuple:
        return 64 + 40 * len(value), False
    if type(value) is bytes:
        return 48 + len(value), False
    if type(value) in (int, bool, Blob) or value is None or value is PERSISTED:
        return 48, False
    if type(value) is Call and value.dtype is not None:
        return 160, False
    return None


class _Machine:
    """One pickle, from its first opcode to STOP."""

    __slots__ = (
        "_depth",
        "_memo",
        "_memo_dense",
        "_memo_len_known",
        "_memo_overflow",
        "_memo_sparse",
        "_memo_spent",
        "_meta",
        "_op_at",
        "_r",
        "_stack",
        "_w",
    )

    @property
    def op_at(self) -> int:
        """Offset of the opcode being replayed (of the failing one, after an exception)."""
        return self._op_at

    def __init__(self, reader: OpReader, walk: Walk, depth: int = 0) -> None:
        self._r = reader
        self._w = walk
        self._depth = depth
        self._stack: list[object] = []
        self._meta: list[list[object]] = []
        self._memo: dict[int, object] = {}
        self._memo_dense = 0
        self._memo_sparse: set[int] = set()
        self._memo_len_known = True
        self._memo_overflow = False
        self._memo_spent = 0
        self._op_at = 0

    # -- driving ------------------------------------------------------------------------------
    def run(self) -> object:
        """Replay up to and including STOP; returns the value STOP would return."""
        reader = self._r
        walk = self._w
        dispatch = _DISPATCH
        count = 0
        try:
            while True:
                # The reader's buffer is read in place: this loop runs once per opcode and
                # a method call here costs a third of the whole walk.
                pos = reader._pos
                buf = reader._buf
                if pos < len(buf):
                    reader._pos = pos + 1
                    self._op_at = reader._base + pos
                    op = buf[pos]
                else:
                    self._op_at, op = reader.opcode()
                handler = dispatch.get(op)
                if handler is None:
                    raise _Malformed(f"unknown opcode 0x{op:02x}")
                count += 1
                handler(self)
                if count & 0x3FFF == 0:
                    self._check_size()
        except _Stop as stop:
            return stop.value
        finally:
            walk.ops += count

    def _check_size(self) -> None:
        if len(self._meta) > _META_CAP:
            raise _Limit(f"more than {_META_CAP} nested MARKs")
        total = len(self._stack) + sum(len(level) for level in self._meta)
        if total > _STACK_CAP:
            raise _Limit(f"more than {_STACK_CAP} values on the unpickling stack")

    # -- stack primitives -----------------------------------------------------------------------
    def _pop(self) -> object:
        try:
            return self._stack.pop()
        except IndexError:
            raise _Malformed("unpickling stack underflow") from None

    def _top(self) -> object:
        try:
            return self._stack[-1]
        except IndexError:
            raise _Malformed("unpickling stack underflow") from None

    def _pop_mark(self) -> list[object]:
        items = self._stack
        try:
            self._stack = self._meta.pop()
        except IndexError:
            raise _Malformed("could not find MARK") from None
        return items

    # -- value construction with a budget ---------------------------------------------------------
    def _string(self, text: str) -> object:
        if len(text) > _STR_KEEP:
            return Blob("str", len(text), text[:64].encode("utf-8", "replace"))
        self._w.spent += 50 + len(text)
        return text

    def _tuple(self, items: list[object] | tuple[object, ...]) -> object:
        """A kept tuple: at most 16 items, nested at most once, strings cut to 64 characters;
        in lean mode only short scalars. Anything else is OTHER (bounded memory)."""
        if len(items) > 16:
            return OTHER
        walk = self._w
        lean = walk.spent > _VALUE_BUDGET
        flat: list[object] = []
        for item in items:
            if type(item) is str:
                if lean and len(item) > 16:
                    return OTHER
                flat.append(item[:64])
            elif type(item) is int or type(item) is bool or item is None:
                flat.append(item)
            elif lean:
                return OTHER
            elif type(item) is tuple:
                flat.append(OTHER if any(type(x) is tuple for x in item) else item)
            else:
                flat.append(item)
        walk.spent += 56 + 8 * len(flat)
        return tuple(flat)

    def _call(self, callee: object, args: object, opcode: str) -> object:
        walk = self._w
        if isinstance(callee, Global):
            use = self._use(callee, opcode)
            use.calls += 1
            if use.preview is None:
                first = args[0] if isinstance(args, tuple) and args else args
                use.preview = _preview(first)
            full = callee.full
            result = Call(callee, safe_name(full))
            if full in _TENSOR_REBUILDS:
                walk.tensors += 1
            elif full == _NUMPY_DTYPE and isinstance(args, tuple) and args:
                result.dtype = _dtype_from_typestr(args[0])
            elif full == "_codecs.encode":
                self._check_codecs(args)
            walk.spent += 120
            return result
        desc = _describe(callee)
        walk.event(
            "indirect-call",
            self._op_at,
            f"{opcode} calls {desc}, not an imported global",
            severe=callee is not LOST and callee is not PERSISTED and callee is not UNRESOLVED,
        )
        walk.spent += 120
        return Call(None, desc[:120])

    def _check_codecs(self, args: object) -> None:
        # Protocol 2 writes bytes as _codecs.encode(str, "latin1"); anything else is not what
        # a pickler emits (e.g. a rot13/zlib/base64 codec used to unpack a hidden payload).
        if not isinstance(args, tuple):
            return
        encoding = args[1] if len(args) > 1 else None
        if len(args) == 2 and isinstance(encoding, str) and encoding.lower() in _LATIN1:
            return
        self._w.event(
            "suspicious-call",
            self._op_at,
            f"_codecs.encode called with encoding {_preview(encoding) or _describe(encoding)}",
            severe=False,
        )

    def _use(self, g: Global, opcode: str) -> GlobalUse:
        key = (g.module, g.name)
        use = self._w.uses.get(key)
        if use is None:
            if len(self._w.uses) >= 10_000:
                raise _Limit("more than 10000 distinct globals")
            use = GlobalUse(g.module, g.name, opcode, self._op_at)
            self._w.uses[key] = use
        return use

    def _import(self, module: str, name: str, opcode: str) -> Global:
        g = Global(module, name)
        self._use(g, opcode).imports += 1
        return g

    # -- memo ---------------------------------------------------------------------------------
    def _memo_put(self, index: int, value: object) -> None:
        dense = self._memo_dense
        if index == dense:
            dense += 1
            sparse = self._memo_sparse
            if sparse:
                while dense in sparse:
                    sparse.discard(dense)
                    dense += 1
            self._memo_dense = dense
        elif index > dense:
            if len(self._memo_sparse) >= _SPARSE_CAP:
                self._memo_len_known = False
                self._memo_overflow = True
            else:
                self._memo_sparse.add(index)
        elif index < 0:
            raise _Malformed("negative memo index")
        kept = _memo_cost(value)
        if kept is None:
            self._memo.pop(index, None)
            return
        cost, namelike = kept
        spent = self._memo_spent + cost
        if spent <= _MEMO_SOFT or (spent <= _MEMO_HARD and namelike):
            self._memo[index] = value
            self._memo_spent = spent
        else:
            self._memo.pop(index, None)
            self._memo_overflow = True

    def _memo_get(self, index: int) -> object:
        value = self._memo.get(index, _MISSING)
        if value is not _MISSING and self._memo_len_known:
            return value
        if not self._memo_len_known:
            return LOST
        if index < self._memo_dense or index in self._memo_sparse:
            return LOST if self._memo_overflow else OTHER
        self._w.error(self._op_at, f"memo index {index} read before it was set")
        return OTHER

    # -- helpers for arguments ---------------------------------------------------------------------
    def _line(self) -> bytes:
        data, whole = self._r.line(_LINE_KEEP)
        if not whole:
            raise _Malformed("overlong text argument")
        return data

    def _int_line(self) -> int:
        data = self._line()
        try:
            return int(data)  # GET / PUT: the unpickler uses int(), base 10
        except ValueError:
            raise _Malformed("bad integer argument") from None

    def _u(self, size: int) -> int:
        return int.from_bytes(self._r.take(size), "little")

    def _payload(self, n: int, kind: str) -> object:
        data, whole = self._r.data(n, _DATA_KEEP if kind != "str" else 4 * _STR_KEEP)
        if not whole:
            return Blob(kind, n, data)
        if kind == "str":
            try:
                return self._string(data.decode("utf-8", "surrogatepass"))
            except UnicodeDecodeError:
                raise _Malformed("invalid UTF-8 in a string") from None
        if kind == "bytes":
            self._w.spent += 40 + len(data)
            return data
        if kind == "binstring":  # py2 str: the unpickler decodes it (ASCII, latin-1, utf-8…)
            return self._string(data.decode("latin-1"))
        return OTHER  # bytearray

    def _global_line(self) -> str:
        data, whole = self._r.line(_LINE_KEEP)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise _Malformed("invalid UTF-8 in a GLOBAL name") from None
        return text if whole else text + "…"

    # -- opcodes ------------------------------------------------------------------------------
    def _op_mark(self) -> None:
        self._meta.append(self._stack)
        self._stack = []

    def _op_stop(self) -> None:
        raise _Stop(self._pop())

    def _op_pop(self) -> None:
        if self._stack:
            self._stack.pop()
        else:
            self._pop_mark()

    def _op_pop_mark(self) -> None:
        self._pop_mark()

    def _op_dup(self) -> None:
        self._stack.append(self._top())

    def _op_float(self) -> None:
        try:
            float(self._line())
        except ValueError:
            raise _Malformed("bad FLOAT argument") from None
        self._stack.append(OTHER)

    def _op_int(self) -> None:
        data = self._line()
        if data == b"00":
            self._stack.append(False)
        elif data == b"01":
            self._stack.append(True)
        else:
            try:
                value = int(data, 0)
            except ValueError:
                raise _Malformed("bad INT argument") from None
            self._stack.append(value if -(1 << 63) <= value < (1 << 63) else OTHER)

    def _op_binint(self) -> None:
        self._stack.append(int.from_bytes(self._r.take(4), "little", signed=True))

    def _op_binint1(self) -> None:
        self._stack.append(self._r.byte())

    def _op_binint2(self) -> None:
        self._stack.append(self._u(2))

    def _op_long(self) -> None:
        data = self._line()
        if data.endswith(b"L"):
            data = data[:-1]
        try:
            value = int(data, 0)
        except ValueError:
            raise _Malformed("bad LONG argument") from None
        self._stack.append(value if -(1 << 63) <= value < (1 << 63) else OTHER)

    def _op_none(self) -> None:
        self._stack.append(None)

    def _op_persid(self) -> None:
        self._line()
        self._stack.append(PERSISTED)

    def _op_binpersid(self) -> None:
        pid = self._pop()
        if isinstance(pid, tuple) and pid and pid[0] == "storage":
            self._w.storages += 1
        self._stack.append(PERSISTED)

    def _op_reduce(self) -> None:
        args = self._pop()
        callee = self._pop()
        self._stack.append(self._call(callee, args, "REDUCE"))

    def _op_string(self) -> None:
        data, whole = self._r.line(_LINE_KEEP)
        if not whole:
            self._stack.append(Blob("str", -1, data[:64]))
            return
        if len(data) < 2 or data[0] != data[-1] or data[0] not in b"'\"":
            raise _Malformed("the STRING opcode argument must be quoted")
        try:
            raw = codecs.escape_decode(data[1:-1])[0]
        except ValueError:
            raise _Malformed("bad escape in a STRING argument") from None
        self._stack.append(self._string(raw.decode("latin-1")))

    def _op_binstring(self) -> None:
        n = int.from_bytes(self._r.take(4), "little", signed=True)
        if n < 0:
            raise _Malformed("BINSTRING pickle has negative byte count")
        self._stack.append(self._payload(n, "binstring"))

    def _op_short_binstring(self) -> None:
        self._stack.append(self._payload(self._r.byte(), "binstring"))

    def _op_unicode(self) -> None:
        data, whole = self._r.line(_LINE_KEEP)
        if not whole:
            self._stack.append(Blob("str", -1, data[:64]))
            return
        try:
            self._stack.append(self._string(data.decode("raw-unicode-escape")))
        except UnicodeDecodeError:
            raise _Malformed("bad UNICODE argument") from None

    def _op_binunicode(self) -> None:
        self._stack.append(self._payload(self._u(4), "str"))

    def _op_short_binunicode(self) -> None:
        reader = self._r
        data = reader.take(reader.byte())  # at most 255 bytes: always kept
        try:
            text = data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise _Malformed("invalid UTF-8 in a string") from None
        self._w.spent += 50 + len(text)
        self._stack.append(text)

    def _op_binunicode8(self) -> None:
        self._stack.append(self._payload(self._u(8), "str"))

    def _op_binbytes(self) -> None:
        self._stack.append(self._payload(self._u(4), "bytes"))

    def _op_short_binbytes(self) -> None:
        self._stack.append(self._payload(self._r.byte(), "bytes"))

    def _op_binbytes8(self) -> None:
        self._stack.append(self._payload(self._u(8), "bytes"))

    def _op_bytearray8(self) -> None:
        self._stack.append(self._payload(self._u(8), "bytearray"))

    def _op_append(self) -> None:
        self._pop()
        self._top()

    def _op_appends(self) -> None:
        self._pop_mark()
        self._top()

    def _op_build(self) -> None:
        state = self._pop()
        target = self._top()
        walk = self._w
        if isinstance(target, Global):
            walk.event(
                "build-on-global",
                self._op_at,
                f"BUILD sets attributes on {safe_name(target.full)} itself (a module-level object)",
                severe=True,
            )
        for part in state if isinstance(state, tuple) else (state,):
            if isinstance(part, DictVal) and part.dunders:
                walk.event(
                    "setstate-injection",
                    self._op_at,
                    f"BUILD state sets {', '.join(map(safe_name, part.dunders[:3]))} on an object",
                    severe=True,
                )
        if not isinstance(target, Call) or target.callee is None:
            return
        full = target.callee.full
        if full == _NUMPY_DTYPE and isinstance(state, tuple) and len(state) >= 8:
            # numpy's dtype state: (version, byteorder, subarray, names, fields, elsize,
            # alignment, flags); elsize is set for flexible and structured dtypes, and flag
            # bit 0 (NPY_ITEM_REFCOUNT) marks dtypes that hold Python objects.
            elsize, flags = state[5], state[7]
            itemsize, hasobject = target.dtype if target.dtype is not None else (-1, False)
            if isinstance(elsize, int) and elsize > 0:
                itemsize = elsize
            if isinstance(flags, int) and flags & 1:
                hasobject = True
            target.dtype = (itemsize, hasobject) if itemsize >= 0 or hasobject else None
        elif full in _JOBLIB_WRAPPERS:
            self._joblib_array(state)

    def _joblib_array(self, state: object) -> None:
        """Skip (or, for object arrays, replay) the array data joblib writes after a wrapper."""
        walk = self._w
        items = state.items if isinstance(state, DictVal) else {}
        shape = items.get("shape")
        dtype = items.get("dtype")
        align = items.get("numpy_array_alignment_bytes")
        info = dtype.dtype if isinstance(dtype, Call) else None
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise _Limit("a joblib array wrapper without a readable shape")
        if info is None:
            raise _Limit("a joblib array wrapper without a readable dtype")
        walk.joblib_arrays += 1
        if info[1]:
            if self._depth >= _MAX_NESTING:
                raise _Limit("joblib object arrays nested too deeply")
            _Machine(self._r, walk, self._depth + 1).run()
            return
        count = 1
        for n in shape:
            count *= n
        nbytes = count * max(info[0], 0)
        # joblib >= 1.2 writes a padding-length byte (1..16, never an opcode) first, so
        # `pickle.load` fails right there; older files start with the raw array bytes.
        first = self._r.peek(1)
        if first and first[0] in _DISPATCH and nbytes:
            self._side_parse(min(nbytes + 17, _SIDE_WINDOW))
        if align is not None:
            self._r.skip(self._r.byte())
        self._r.skip(nbytes)

    def _side_parse(self, size: int) -> None:
        """Old joblib writes array bytes with no padding byte, so `pickle.load` would run them
        as opcodes. Replay that reading too and keep any global it imports and calls."""
        window = self._r.peek(size)
        side = Walk()
        with contextlib.suppress(_Malformed, _Limit, Truncated):
            _Machine(OpReader(io.BytesIO(window)), side, _MAX_NESTING).run()
        for key, use in side.uses.items():
            if use.calls and _NAMELIKE.fullmatch(use.module) and _NAMELIKE.fullmatch(use.name):
                self._w.uses.setdefault(key, use)
                self._w.event(
                    "joblib-ambiguous",
                    self._op_at,
                    f"array bytes after a joblib wrapper call "
                    f"{safe_name(use.module + '.' + use.name)} when read with pickle.load",
                    severe=True,
                )

    def _op_global(self) -> None:
        module = self._global_line()
        name = self._global_line()
        self._stack.append(self._import(module, name, "GLOBAL"))

    def _op_dict(self) -> None:
        items = self._pop_mark()
        if len(items) % 2:
            raise _Malformed("odd number of items for DICT")
        d = DictVal()
        for i in range(0, len(items), 2):
            self._setitem(d, items[i], items[i + 1])
        self._stack.append(d)

    def _op_empty_dict(self) -> None:
        self._w.spent += 100
        self._stack.append(DictVal())

    @staticmethod
    def _setitem(target: object, key: object, value: object) -> None:
        if type(target) is not DictVal or type(key) is not str:
            return
        if key[:2] == "__" and _DUNDER.fullmatch(key) and len(target.dunders) < 8:
            target.dunders.append(key)
        items = target.items
        if len(items) < 16 and type(value) is not DictVal:
            items[key] = value

    def _op_setitem(self) -> None:
        value = self._pop()
        key = self._pop()
        self._setitem(self._top(), key, value)

    def _op_setitems(self) -> None:
        items = self._pop_mark()
        target = self._top()
        if len(items) % 2:
            raise _Malformed("odd number of items for SETITEMS")
        for i in range(0, len(items), 2):
            self._setitem(target, items[i], items[i + 1])

    def _op_get(self) -> None:
        self._stack.append(self._memo_get(self._int_line()))

    def _op_binget(self) -> None:
        self._stack.append(self._memo_get(self._r.byte()))

    def _op_long_binget(self) -> None:
        self._stack.append(self._memo_get(self._u(4)))

    def _op_put(self) -> None:
        self._memo_put(self._int_line(), self._top())

    def _op_binput(self) -> None:
        self._memo_put(self._r.byte(), self._top())

    def _op_long_binput(self) -> None:
        self._memo_put(self._u(4), self._top())

    def _op_memoize(self) -> None:
        if not self._memo_len_known:
            self._top()
            return
        self._memo_put(self._memo_dense + len(self._memo_sparse), self._top())

    def _op_inst(self) -> None:
        module = self._global_line()
        name = self._global_line()
        args = self._pop_mark()
        g = self._import(module, name, "INST")
        self._stack.append(self._call(g, self._tuple(args), "INST"))

    def _op_obj(self) -> None:
        args = self._pop_mark()
        if not args:
            raise _Malformed("OBJ without a class")
        self._stack.append(self._call(args[0], self._tuple(args[1:]), "OBJ"))

    def _op_list(self) -> None:
        self._pop_mark()
        self._stack.append(OTHER)

    def _op_empty_list(self) -> None:
        self._stack.append(OTHER)

    def _op_tuple(self) -> None:
        items = self._pop_mark()  # first: it swaps `self._stack`
        self._stack.append(self._tuple(items))

    def _op_empty_tuple(self) -> None:
        self._stack.append(())

    def _op_tuple1(self) -> None:
        self._stack.append(self._tuple((self._pop(),)))

    def _op_tuple2(self) -> None:
        b = self._pop()
        a = self._pop()
        self._stack.append(self._tuple((a, b)))

    def _op_tuple3(self) -> None:
        c = self._pop()
        b = self._pop()
        a = self._pop()
        self._stack.append(self._tuple((a, b, c)))

    def _op_binfloat(self) -> None:
        self._r.take(8)
        self._stack.append(OTHER)

    def _op_proto(self) -> None:
        proto = self._r.byte()
        self._w.protocols.add(proto)
        if proto > 5:
            self._w.error(self._op_at, f"unsupported pickle protocol {proto}")

    def _op_newobj(self) -> None:
        args = self._pop()
        cls = self._pop()
        self._stack.append(self._call(cls, args, "NEWOBJ"))

    def _op_newobj_ex(self) -> None:
        self._pop()  # kwargs
        args = self._pop()
        cls = self._pop()
        self._stack.append(self._call(cls, args, "NEWOBJ_EX"))

    def _ext(self, code: int) -> None:
        self._w.event(
            "extension-code",
            self._op_at,
            f"EXT opcode fetches global #{code} from the copyreg extension registry",
            severe=False,
        )
        self._stack.append(Ext(code))

    def _op_ext1(self) -> None:
        self._ext(self._r.byte())

    def _op_ext2(self) -> None:
        self._ext(self._u(2))

    def _op_ext4(self) -> None:
        self._ext(int.from_bytes(self._r.take(4), "little", signed=True))

    def _op_newtrue(self) -> None:
        self._stack.append(True)

    def _op_newfalse(self) -> None:
        self._stack.append(False)

    def _op_long1(self) -> None:
        data = self._r.take(self._r.byte())
        value = int.from_bytes(data, "little", signed=True) if len(data) <= 16 else OTHER
        self._stack.append(value)

    def _op_long4(self) -> None:
        n = int.from_bytes(self._r.take(4), "little", signed=True)
        if n < 0:
            raise _Malformed("LONG pickle has negative byte count")
        data, whole = self._r.data(n, 16)
        self._stack.append(int.from_bytes(data, "little", signed=True) if whole else OTHER)

    def _op_empty_set(self) -> None:
        self._stack.append(OTHER)

    def _op_additems(self) -> None:
        self._pop_mark()
        self._top()

    def _op_frozenset(self) -> None:
        self._pop_mark()
        self._stack.append(OTHER)

    def _op_stack_global(self) -> None:
        name = self._pop()
        module = self._pop()
        if isinstance(module, str) and isinstance(name, str):
            self._stack.append(self._import(module, name, "STACK_GLOBAL"))
            return
        computed = _maybe_str(module) or _maybe_str(name)
        lost = LOST in (module, name) and not any(
            isinstance(x, (Global, Call, Ext)) for x in (module, name)
        )
        self._w.event(
            "dynamic-global",
            self._op_at,
            f"STACK_GLOBAL imports a name built at load time: module {_describe(module)}, "
            f"name {_describe(name)}",
            severe=computed and not lost,
        )
        self._stack.append(UNRESOLVED)

    def _op_frame(self) -> None:
        self._r.take(8)

    def _op_next_buffer(self) -> None:
        self._stack.append(OTHER)

    def _op_readonly_buffer(self) -> None:
        self._top()


_HANDLERS: dict[str, Callable[[_Machine], None]] = {
    "MARK": _Machine._op_mark,
    "STOP": _Machine._op_stop,
    "POP": _Machine._op_pop,
    "POP_MARK": _Machine._op_pop_mark,
    "DUP": _Machine._op_dup,
    "FLOAT": _Machine._op_float,
    "INT": _Machine._op_int,
    "BININT": _Machine._op_binint,
    "BININT1": _Machine._op_binint1,
    "LONG": _Machine._op_long,
    "BININT2": _Machine._op_binint2,
    "NONE": _Machine._op_none,
    "PERSID": _Machine._op_persid,
    "BINPERSID": _Machine._op_binpersid,
    "REDUCE": _Machine._op_reduce,
    "STRING": _Machine._op_string,
    "BINSTRING": _Machine._op_binstring,
    "SHORT_BINSTRING": _Machine._op_short_binstring,
    "UNICODE": _Machine._op_unicode,
    "BINUNICODE": _Machine._op_binunicode,
    "APPEND": _Machine._op_append,
    "BUILD": _Machine._op_build,
    "GLOBAL": _Machine._op_global,
    "DICT": _Machine._op_dict,
    "EMPTY_DICT": _Machine._op_empty_dict,
    "APPENDS": _Machine._op_appends,
    "GET": _Machine._op_get,
    "BINGET": _Machine._op_binget,
    "INST": _Machine._op_inst,
    "LONG_BINGET": _Machine._op_long_binget,
    "LIST": _Machine._op_list,
    "EMPTY_LIST": _Machine._op_empty_list,
    "OBJ": _Machine._op_obj,
    "PUT": _Machine._op_put,
    "BINPUT": _Machine._op_binput,
    "LONG_BINPUT": _Machine._op_long_binput,
    "SETITEM": _Machine._op_setitem,
    "TUPLE": _Machine._op_tuple,
    "EMPTY_TUPLE": _Machine._op_empty_tuple,
    "SETITEMS": _Machine._op_setitems,
    "BINFLOAT": _Machine._op_binfloat,
    "PROTO": _Machine._op_proto,
    "NEWOBJ": _Machine._op_newobj,
    "EXT1": _Machine._op_ext1,
    "EXT2": _Machine._op_ext2,
    "EXT4": _Machine._op_ext4,
    "TUPLE1": _Machine._op_tuple1,
    "TUPLE2": _Machine._op_tuple2,
    "TUPLE3": _Machine._op_tuple3,
    "NEWTRUE": _Machine._op_newtrue,
    "NEWFALSE": _Machine._op_newfalse,
    "LONG1": _Machine._op_long1,
    "LONG4": _Machine._op_long4,
    "BINBYTES": _Machine._op_binbytes,
    "SHORT_BINBYTES": _Machine._op_short_binbytes,
    "SHORT_BINUNICODE": _Machine._op_short_binunicode,
    "BINUNICODE8": _Machine._op_binunicode8,
    "BINBYTES8": _Machine._op_binbytes8,
    "EMPTY_SET": _Machine._op_empty_set,
    "ADDITEMS": _Machine._op_additems,
    "FROZENSET": _Machine._op_frozenset,
    "NEWOBJ_EX": _Machine._op_newobj_ex,
    "STACK_GLOBAL": _Machine._op_stack_global,
    "MEMOIZE": _Machine._op_memoize,
    "FRAME": _Machine._op_frame,
    "BYTEARRAY8": _Machine._op_bytearray8,
    "NEXT_BUFFER": _Machine._op_next_buffer,
    "READONLY_BUFFER": _Machine._op_readonly_buffer,
}
_DISPATCH: dict[int, Callable[[_Machine], None]] = {
    code: _HANDLERS[name] for code, name in OPCODE_NAMES.items()
}


def walk(reader: OpReader) -> Walk:  # noqa: PLR0911, PLR0912 - one exit per outcome
    """Replay every pickle in the stream, up to its end (or a limit). Never raises on bad input.

    After the first pickle, more bytes are tried as another pickle (legacy torch files hold
    five; joblib and appended payloads too). Bytes that are not a pickle are reported as
    `trailing`. Legacy torch files stop after their five pickles: the rest is raw storage
    data that `torch.load` reads as bytes, never as a pickle.
    """
    w = Walk()
    if reader.at_eof():
        w.empty = True
        return w
    while True:
        start = reader.offset
        machine = _Machine(reader, w)
        try:
            value = machine.run()
        except Truncated:
            if w.pickles == 0:
                w.error(reader.offset, "the stream ends inside a pickle (truncated)")
            else:
                w.trailing = (start, _size_from(reader, start), "ends inside a pickle")
            return w
        except _Malformed as exc:
            if w.pickles == 0:
                w.error(machine.op_at, str(exc))
            else:
                w.trailing = (start, _size_from(reader, start), f"{exc} at offset {machine.op_at}")
            return w
        except _Limit as exc:
            w.limit = str(exc)
            return w
        w.pickles += 1
        if w.pickles == 1 and value == LEGACY_TORCH_MAGIC:
            w.legacy_torch = True
        if w.legacy_torch and w.pickles >= 5:
            return w
        if reader.at_eof():
            return w
        if w.pickles >= _MAX_PICKLES:
            w.limit = f"more than {_MAX_PICKLES} pickles in one stream"
            return w


def _size_from(reader: OpReader, start: int) -> int | None:
    rest = reader.tail_unread()
    return None if rest is None else rest + (reader.offset - start)


@dataclass(frozen=True, slots=True)
class Probe:
    ops: int
    protocol: int | None
    complete: bool  # reached STOP
    malformed: bool
    names_ok: bool  # every GLOBAL/INST name is a plausible dotted Python name
    imports: int


def probe(head: bytes) -> Probe:
    """Replay the first bytes of a file to judge whether it is a pickle (for `sniff`)."""
    w = Walk()
    reader = OpReader(io.BytesIO(head))
    machine = _Machine(reader, w)
    complete = malformed = False
    try:
        machine.run()
        complete = True
    except (Truncated, _Limit):
        pass
    except _Malformed:
        malformed = True
    names_ok = all(
        _NAMELIKE.fullmatch(use.module) and _NAMELIKE.fullmatch(use.name) for use in w.uses.values()
    )
    protocol = min(w.protocols) if w.protocols else None
    return Probe(w.ops, protocol, complete, malformed, names_ok, len(w.uses))
