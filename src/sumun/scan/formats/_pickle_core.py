"""The replay machine's state and the primitives every opcode handler is built from.

`_Core` holds one pickle's stack, MARK levels and memo, reads arguments through `OpReader`
within fixed caps, and judges calls (`_call`): a call of an imported `Global` is counted on its
`GlobalUse`, a call of anything else is an *indirect call* event. The opcode handlers are
mixins over `_Core` (`_pickle_literals`, `_pickle_stack`, `_pickle_calls`); `_pickle_vm`
assembles them into `_Machine` and supplies the two budgeted hooks, `_tuple` and `_memo_put`.
"""

from __future__ import annotations

import re

from sumun.scan.formats._pickle_ops import OpReader
from sumun.scan.formats._pickle_record import GlobalUse, Walk
from sumun.scan.formats._pickle_values import (
    _MISSING,
    LOST,
    OTHER,
    PERSISTED,
    UNRESOLVED,
    Blob,
    Call,
    Global,
    _describe,
    _dtype_from_typestr,
    _preview,
    safe_name,
)

__all__: list[str] = []

_STR_KEEP = 256  # longer strings become a Blob (64-byte head)
_DATA_KEEP = 1024  # byte payloads up to this are kept (previews, `_codecs.encode` checks)
_LINE_KEEP = 4096  # protocol 0 text arguments

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
# pickle's default object protocol: the first argument is the class to instantiate
_CONSTRUCTORS = frozenset(
    {
        "copyreg._reconstructor",
        "copyreg.__newobj__",
        "copyreg.__newobj_ex__",
        "copy_reg._reconstructor",
    }
)
_OBJECT = frozenset({"builtins.object", "__builtin__.object"})
# Bound methods and classmethods pickle as getattr(cls, "name") at every protocol (zoneinfo's
# ZoneInfo._unpickle in any tz-aware pandas column); a literal attribute of an imported global
# is the same as importing `module.cls.name`, so it is judged as that global.
GETATTR = frozenset({"builtins.getattr", "__builtin__.getattr"})
PARTIAL = "functools.partial"  # scikit-learn's HistGradientBoosting keeps partial(check_array)
_ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_LATIN1 = frozenset({"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1"})


class _Malformed(Exception):  # noqa: N818 - internal signal, never escapes
    """The real unpickler would raise here (bad opcode, bad argument, stack underflow)."""


class _Limit(Exception):  # noqa: N818 - internal signal, never escapes
    """A resource cap was reached; the rest of the stream is not vetted."""


class _Stop(Exception):  # noqa: N818 - internal signal, never escapes
    def __init__(self, value: object) -> None:
        super().__init__()
        self.value = value


class _Core:
    """One pickle's replay state and primitives; the opcodes live in the mixins."""

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
        """Implemented by `_pickle_vm._Machine`, next to the value budget it reads."""
        raise NotImplementedError

    def _memo_put(self, index: int, value: object) -> None:
        """Implemented by `_pickle_vm._Machine`, next to the memo budgets it reads."""
        raise NotImplementedError

    def _call(self, callee: object, args: object, opcode: str) -> object:
        walk = self._w
        if isinstance(callee, Global):
            use = self._use(callee, opcode)
            use.calls += 1
            if opcode in ("NEWOBJ", "NEWOBJ_EX"):
                use.news += 1
            else:
                use.reduces += 1
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
            elif full in _CONSTRUCTORS and isinstance(args, tuple) and args:
                self._constructor(full, args)
            elif full in GETATTR:
                resolved = self._getattr(use, args)
                if resolved is not None:
                    walk.spent += 120
                    return resolved
            elif (
                full == PARTIAL and isinstance(args, tuple) and args and isinstance(args[0], Global)
            ):
                use.modelled += 1
                use.targets.append((args[0].module, args[0].name))
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

    def _getattr(self, use: GlobalUse, args: object) -> Global | None:
        if not (isinstance(args, tuple) and len(args) == 2):
            return None
        owner, attribute = args
        if not (isinstance(owner, Global) and isinstance(attribute, str)):
            return None
        if not _ATTRIBUTE.fullmatch(attribute):
            return None
        use.modelled += 1
        return self._import(owner.module, f"{owner.name}.{attribute}", "REDUCE")

    def _constructor(self, full: str, args: tuple[object, ...]) -> None:
        """`copyreg._reconstructor(cls, base, state)` runs `base.__new__(cls, state)` and, unless
        base is `object`, `base.__init__(obj, state)`: cls is instantiated, base is called."""
        cls = args[0]
        if isinstance(cls, Global):
            self._use(cls, "REDUCE").news += 1
        base = args[1] if len(args) > 1 and full.endswith("_reconstructor") else None
        if isinstance(base, Global) and base.full not in _OBJECT:
            self._use(base, "REDUCE").reduces += 1

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
