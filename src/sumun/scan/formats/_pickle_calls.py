"""Opcode handlers that import or call: GLOBAL, STACK_GLOBAL, INST, OBJ, REDUCE, NEWOBJ, EXT.

These are where a pickle runs code. Every import is counted on a `GlobalUse`; a STACK_GLOBAL
whose operands are not literal strings is a *dynamic global* event, never a guess.
"""

from __future__ import annotations

from sumun.scan.formats._pickle_core import _Core, _Malformed
from sumun.scan.formats._pickle_values import (
    LOST,
    PERSISTED,
    UNRESOLVED,
    Call,
    Ext,
    Global,
    _describe,
    _maybe_str,
)

__all__: list[str] = []


class _CallOps(_Core):
    __slots__ = ()

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

    def _op_global(self) -> None:
        module = self._global_line()
        name = self._global_line()
        self._stack.append(self._import(module, name, "GLOBAL"))

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
