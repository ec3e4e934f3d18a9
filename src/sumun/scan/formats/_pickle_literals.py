"""Opcode handlers that push literals: numbers, booleans, None, strings and byte payloads.

Strings are kept (they may name a global later); long ones become a `Blob`. Numbers outside
64 bits and floats are `OTHER`: no global resolution depends on them.
"""

from __future__ import annotations

import codecs

from sumun.scan.formats._pickle_core import _LINE_KEEP, _Core, _Malformed
from sumun.scan.formats._pickle_values import OTHER, Blob

__all__: list[str] = []


class _LiteralOps(_Core):
    __slots__ = ()

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

    def _op_binfloat(self) -> None:
        self._r.take(8)
        self._stack.append(OTHER)

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
