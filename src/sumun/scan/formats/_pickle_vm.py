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

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

from sumun.scan.formats._pickle_calls import _CallOps
from sumun.scan.formats._pickle_core import _NUMPY_DTYPE, PARTIAL, _Limit, _Malformed, _Stop
from sumun.scan.formats._pickle_literals import _LiteralOps
from sumun.scan.formats._pickle_ops import OPCODE_NAMES, OpReader, Truncated
from sumun.scan.formats._pickle_record import Event, GlobalUse, Walk
from sumun.scan.formats._pickle_stack import _StackOps
from sumun.scan.formats._pickle_values import (
    _NAMELIKE,
    OTHER,
    Call,
    DictVal,
    Global,
    _memo_cost,
    safe_name,
)

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
_STACK_CAP = 50_000  # items on the stack and under every MARK together
_META_CAP = 10_000  # nested MARKs
_VALUE_BUDGET = 48 << 20  # approximate bytes of values built before "lean" mode
_MEMO_SOFT = 16 << 20  # memo bytes retained for anything
_MEMO_HARD = 32 << 20  # … and for globals and name-like strings only
_SPARSE_CAP = 100_000  # out-of-order memo indices tracked
_MAX_PICKLES = 10_000  # pickles in one stream
_MAX_NESTING = 4  # joblib object arrays inside object arrays
_SIDE_WINDOW = 1 << 20

LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_JOBLIB_WRAPPERS = frozenset(
    {
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    }
)


class _Machine(_LiteralOps, _StackOps, _CallOps):
    """One pickle, from its first opcode to STOP.

    The opcode handlers come from the mixins (`_pickle_literals`, `_pickle_stack`,
    `_pickle_calls`). What stays here reads this module's budgets (tests lower them) or
    re-enters the machine: the driving loop, `_tuple`, `_memo_put`, and BUILD with the joblib
    array data that follows it.
    """

    __slots__ = ()

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

    # -- opcodes ------------------------------------------------------------------------------
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
        if full == PARTIAL:
            self._partial_state(target.callee, state)
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

    def _partial_state(self, callee: Global, state: object) -> None:
        """partial.__setstate__((func, args, kwds, dict)) replaces the function: judge it too."""
        use = self._use(callee, "BUILD")
        func = state[0] if isinstance(state, tuple) and state else None
        if isinstance(func, Global):
            use.targets.append((func.module, func.name))
        else:
            use.modelled = -1  # a state the replay cannot read: the partial stays dangerous

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
