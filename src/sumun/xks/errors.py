"""The XKS Proxy API's error table: one exception class per `errorName`, its HTTP status once.

Every failure the proxy answers is one of these; the body is
`{"errorName": …, "errorMessage": …}` with a message under 512 printable-ASCII characters.
Messages MUST NOT carry plaintext, key material or secrets.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDeniedError",
    "AuthenticationFailedError",
    "DependencyTimeoutError",
    "InternalError",
    "InvalidCiphertextError",
    "InvalidKeyUsageError",
    "InvalidStateError",
    "InvalidUriPathError",
    "KeyNotFoundError",
    "ThrottlingError",
    "UnsupportedOperationError",
    "ValidationError",
    "XksError",
]


class XksError(Exception):
    """A failure with the spec's `errorName` and HTTP status."""

    error_name: ClassVar[str] = "InternalException"
    status: ClassVar[int] = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, str]:
        """The response body: printable ASCII, under 512 characters."""
        text = "".join(ch if " " <= ch <= "~" else "?" for ch in self.message)[:511]
        return (
            {"errorName": self.error_name, "errorMessage": text}
            if text
            else {"errorName": self.error_name}
        )


class ValidationError(XksError):
    error_name = "ValidationException"
    status = 400


class InvalidStateError(XksError):
    error_name = "InvalidStateException"
    status = 400


class InvalidCiphertextError(XksError):
    error_name = "InvalidCiphertextException"
    status = 400


class InvalidKeyUsageError(XksError):
    error_name = "InvalidKeyUsageException"
    status = 400


class AuthenticationFailedError(XksError):
    error_name = "AuthenticationFailedException"
    status = 401


class AccessDeniedError(XksError):
    error_name = "AccessDeniedException"
    status = 403


class KeyNotFoundError(XksError):
    error_name = "KeyNotFoundException"
    status = 404


class InvalidUriPathError(XksError):
    error_name = "InvalidUriPathException"
    status = 404


class ThrottlingError(XksError):
    error_name = "ThrottlingException"
    status = 429


class UnsupportedOperationError(XksError):
    error_name = "UnsupportedOperationException"
    status = 501


class DependencyTimeoutError(XksError):
    error_name = "DependencyTimeoutException"
    status = 503


class InternalError(XksError):
    error_name = "InternalException"
    status = 500
