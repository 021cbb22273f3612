"""The error hierarchy: one class per HTTP status, each instance carrying its catalogue entry.

    QRadarError
    ├── Unauthorized (401)         ├── Conflict (409)
    ├── Forbidden (403)            ├── PayloadTooLarge (413)
    ├── NotFound (404, LookupError)├── UnsupportedMediaType (415)
    ├── MethodNotAllowed (405)     ├── Unprocessable (422, ValueError)
    ├── NotAcceptable (406)        ├── InternalError (500)
    └── ServiceUnavailable (503)

`QRadarError.of(code, ...)` picks the class from the entry's status, so a rule names only the
code; one handler renders any of them as QRadar's body (`body()`).
"""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict

from engine.core import codes
from engine.core.codes import HTTP_MESSAGES, Code
from engine.core.endpoints import EndpointId
from engine.core.versions import LATEST, ApiVersion


class HttpResponseBody(TypedDict):
    message: str
    code: int


class ErrorBody(TypedDict):
    message: str
    details: dict[str, Any]
    description: str | None
    code: int
    http_response: HttpResponseBody


#: The keys of QRadar's error body, in its order.
ERROR_KEYS: tuple[str, ...] = tuple(ErrorBody.__annotations__)


def error_body(status: int, unique: int, message: str, description: str | None) -> ErrorBody:
    """QRadar's error body: the one place it is built."""
    return {
        "message": message,
        "details": {},
        "description": description,
        "code": unique,
        "http_response": {"message": HTTP_MESSAGES.get(status, ""), "code": status},
    }


class QRadarError(Exception):
    """An answer of the API that is not a success; renders as QRadar's error body."""

    http_status: ClassVar[int] = 500
    _by_status: ClassVar[dict[int, type[QRadarError]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        QRadarError._by_status[cls.http_status] = cls

    def __init__(self, code: Code, message: str | None = None, **params: Any) -> None:
        self.code = code
        self.params = params
        template = code.message if code.message is not None else code.texts[-1][1]
        if message is None:
            try:
                message = (template or "").format(**params)
            except (KeyError, IndexError):
                message = template or ""
        self.message = message
        super().__init__(f"{code.http_status}/{code.unique}: {message}")

    @staticmethod
    def of(code: Code, message: str | None = None, **params: Any) -> QRadarError:
        """The error of the right class for a catalogue entry."""
        cls = QRadarError._by_status.get(code.http_status, QRadarError)
        return cls(code, message, **params)

    @staticmethod
    def at(
        endpoint: EndpointId, unique: int, message: str | None = None, **params: Any
    ) -> QRadarError:
        """The error for a code as a given endpoint documents it."""
        return QRadarError.of(codes.lookup(endpoint, unique), message, **params)

    def body(self, version: ApiVersion = LATEST) -> ErrorBody:
        """QRadar's error body; the description is the text of the requested version."""
        status = self.code.http_status
        description = self.code.description(version)
        message = self.message
        if not self.code.framework and self.code.message is None and self.code.texts[-1][1]:
            message = description or ""  # version-dependent wording (1009) follows the version
        return error_body(status, self.code.unique, message, description)


class Unauthorized(QRadarError):
    http_status = 401


class Forbidden(QRadarError):
    http_status = 403


class NotFound(QRadarError, LookupError):
    http_status = 404


class MethodNotAllowed(QRadarError):
    http_status = 405


class NotAcceptable(QRadarError):
    http_status = 406


class Conflict(QRadarError):
    http_status = 409


class PayloadTooLarge(QRadarError):
    http_status = 413


class UnsupportedMediaType(QRadarError):
    http_status = 415


class Unprocessable(QRadarError, ValueError):
    http_status = 422


class InternalError(QRadarError):
    http_status = 500


class ServiceUnavailable(QRadarError):
    http_status = 503
