"""Opcode handlers that shape the stack and memo: MARK, containers, memo reads and writes.

Containers are not built: lists and sets are `OTHER`, tuples a small flat copy, dicts a
`DictVal` that keeps a few items and every dunder key (for `__setstate__`-style injection).
"""

from __future__ import annotations

import re

from sumun.scan.formats._pickle_core import _Core, _Malformed, _Stop
from sumun.scan.formats._pickle_values import OTHER, DictVal

__all__: list[str] = []

_DUNDER = re.compile(r"__\w+__")


class _StackOps(_Core):
    __slots__ = ()

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

    def _op_append(self) -> None:
        self._pop()
        self._top()

    def _op_appends(self) -> None:
        self._pop_mark()
        self._top()

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

    def _op_proto(self) -> None:
        proto = self._r.byte()
        self._w.protocols.add(proto)
        if proto > 5:
            self._w.error(self._op_at, f"unsupported pickle protocol {proto}")

    def _op_empty_set(self) -> None:
        self._stack.append(OTHER)

    def _op_additems(self) -> None:
        self._pop_mark()
        self._top()

    def _op_frozenset(self) -> None:
        self._pop_mark()
        self._stack.append(OTHER)

    def _op_frame(self) -> None:
        self._r.take(8)

    def _op_next_buffer(self) -> None:
        self._stack.append(OTHER)

    def _op_readonly_buffer(self) -> None:
        self._top()
