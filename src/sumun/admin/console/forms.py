"""Read a console form: `application/x-www-form-urlencoded`, size-capped, each field once.

Most console forms are small (a key, a reason, a role); the largest are a pasted policy and an
explain prompt, which the admin API takes up to 64 KiB of JSON. Percent-encoding makes a
Korean character 9 bytes (3 UTF-8 bytes, each `%XX`), so the cap on the encoded form is four
times the API's: the same text fits both. Anything bigger is refused before a field is looked
at. Values are never echoed back in an error.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

from sumun.errors import UsageError

__all__ = ["MAX_FORM_BYTES", "read_form"]

MAX_FORM_BYTES = 256 * 1024
_MAX_FIELDS = 20


async def read_form(request: Request) -> dict[str, str]:
    """The form's fields; UsageError for a form too big, of another media type, or malformed."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise UsageError(f"form over {MAX_FORM_BYTES} bytes")
        chunks.append(chunk)
    if not size:
        return {}  # no fields (so no CSRF token: refused 403 by the caller)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise UsageError("the console takes forms as application/x-www-form-urlencoded")
    try:
        parsed = parse_qs(
            b"".join(chunks).decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=_MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError("the form is not valid UTF-8 form data") from exc
    if any(len(values) > 1 for values in parsed.values()):
        raise UsageError("a form field is given more than once")
    return {name: values[0] for name, values in parsed.items()}
