"""The exceptions of the package: one class per kind of API error, raised alike by the
in-process engine and the sidecar client, with the API's machine code and message."""

from __future__ import annotations


class RustybtError(Exception):
    """An error the engine answered with.

    ``message`` is the API's message (it names the field and the value where there is one),
    ``code`` its machine code (``invalid_decimal``, ``wrong_confirmation_token``...) and
    ``status`` the HTTP status the API answers it with (``None`` when there is none).
    """

    def __init__(self, message: str, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r}, status={self.status!r})"


class InputError(RustybtError, ValueError):
    """Bad input (HTTP 400/422): names the field and the value; nothing changed."""


class ConfigError(RustybtError, ValueError):
    """The configuration cannot be used: every problem, naming each field and value."""


class ConflictError(RustybtError):
    """The state forbids it (HTTP 409): a reset from NORMAL, a reset already pending, a wrong
    or expired confirmation token. Nothing changed."""


class NotFoundError(RustybtError, LookupError):
    """No such strategy (HTTP 404)."""


class AuthError(RustybtError, PermissionError):
    """Missing or wrong API token (HTTP 401); nothing changed."""


class UnavailableError(RustybtError):
    """The engine cannot answer now (HTTP 503, or the sidecar cannot be reached)."""


class ClosedError(RustybtError, RuntimeError):
    """The engine or client was closed."""


__all__ = [
    "RustybtError",
    "InputError",
    "ConfigError",
    "ConflictError",
    "NotFoundError",
    "AuthError",
    "UnavailableError",
    "ClosedError",
]
