"""The protobuf wire format, read field by field from a stream (protobuf.dev "Encoding").

Just enough for ONNX and TensorFlow SavedModels: a message is a sequence of (tag, value) where
tag = field << 3 | wire type; wire type 0 is a varint, 1 eight bytes, 2 a length-delimited
payload (strings, bytes, sub-messages, packed repeated fields; a `map<K, V>` field is a repeated
entry message with key 1 and value 2), 5 four bytes. Groups (3, 4) are deprecated and used by
neither format.

`fields()` yields one field at a time. For a length-delimited field the caller may read the
payload, descend into it as a sub-message, or do nothing: when iteration resumes, whatever the
caller did not consume is skipped by seeking, so tensor data (`raw_data`) is never loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from sumun.scan.formats._bounded import BoundedReader, FormatError

__all__ = ["I32", "I64", "LEN", "VARINT", "Field", "fields", "read_string", "varint"]

VARINT, I64, LEN, I32 = 0, 1, 2, 5


class Field(NamedTuple):
    number: int
    wire: int
    value: int  # the varint / fixed value; for LEN the payload length
    start: int = 0  # LEN: offset of the payload

    @property
    def end(self) -> int:
        return self.start + self.value

    @property
    def signed(self) -> int:
        """A varint as protobuf int64/int32 (two's complement)."""
        return self.value - (1 << 64) if self.value >= 1 << 63 else self.value


def varint(reader: BoundedReader) -> int:
    return reader.varint()


def fields(reader: BoundedReader, end: int) -> Iterator[Field]:
    """The fields of the message that ends at `end`; leaves the reader at `end`."""
    next_varint = reader.varint
    while reader.pos < end:
        key = next_varint()
        number, wire = key >> 3, key & 7
        if number == 0:
            raise FormatError(f"field number 0 at offset {reader.pos}")
        if wire == VARINT:
            yield Field(number, wire, next_varint())
        elif wire == LEN:
            length = next_varint()
            start = reader.pos
            if length > end - start:
                raise FormatError(
                    f"field {number} at offset {start} claims {length} bytes but its message "
                    f"has {end - start} left"
                )
            yield Field(number, wire, length, start)
            if reader.pos != start + length:
                if reader.pos > start + length:
                    raise FormatError(f"field {number} overran its length at offset {reader.pos}")
                reader.seek(start + length)
        elif wire == I64:
            yield Field(number, wire, int.from_bytes(reader.read(8, "fixed64"), "little"))
        elif wire == I32:
            yield Field(number, wire, int.from_bytes(reader.read(4, "fixed32"), "little"))
        else:
            raise FormatError(f"unsupported wire type {wire} at offset {reader.pos}")
    if reader.pos != end:
        raise FormatError(f"a field overruns its message (offset {reader.pos}, end {end})")


def read_string(reader: BoundedReader, field: Field, cap: int) -> str:
    """Up to `cap` bytes of a length-delimited field as text; the rest is skipped."""
    if field.wire != LEN:
        raise FormatError(f"field {field.number} should be length-delimited")
    return reader.read(min(field.value, cap), "string").decode("utf-8", "replace")
