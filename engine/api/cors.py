"""CORS of `/api`: a console's allowed origins (its `allowed_origins.list`) and the headers
they give.

A console allows the origins listed, one a line, in
`/opt/qradar/webapps/console/restapi/allowed_origins.list` (`*`: every origin); browsers
preflight a cross-origin request with OPTIONS. Here each console has that list (empty by
default: no cross-origin access), set by the `allowed_origins` control action. A preflight
carries no credentials, so it is answered for the console its credentials select when it has
some, else for the default console (docs/decisions.md). Responses to an allowed origin carry
`Access-Control-Allow-Origin` with that origin (never `*`: the API takes credentials).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

ALL = "*"
#: Request headers a browser may send to /api (QRadar's conventions and the session's).
ALLOWED_HEADERS = ("Accept, Allow-Hidden, Authorization, Content-Type, QRadarCSRF, Range, SEC, "
                   "Version, backup_type, fields")  # fmt: skip
#: Response headers a browser script may read.
EXPOSED_HEADERS = "Content-Range, Deprecated"
MAX_AGE_S = "1800"


def allowed(origins: Sequence[str], origin: str) -> bool:
    """Whether the list allows `origin` (compared as written, case-insensitively: an origin's
    scheme and host are)."""
    return ALL in origins or origin.lower() in (o.lower() for o in origins)


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    return (
        method == "OPTIONS" and "origin" in headers and ("access-control-request-method" in headers)
    )


def preflight_headers(origin: str, methods: Sequence[str]) -> dict[str, str]:
    """The answer to an allowed preflight: the methods the path has, the headers it reads."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": ", ".join(methods),
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": MAX_AGE_S,
        "Vary": "Origin",
    }


def response_headers(origin: str) -> dict[str, str]:
    """What a response to an allowed origin's request adds."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Vary": "Origin",
    }
