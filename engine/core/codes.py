"""The code catalogue: every documented error of the family, written once (reference section 4).

A code is unique per endpoint, not globally: 1011 on POST /backups and 1011 on POST /restores are
two entries. Each entry carries its HTTP status, unique code, documented description (per API
version where the text changed), the endpoints that answer with it, and the version that
introduced it. Framework codes (401/18, 404/4, 422/30 ...) apply to every endpoint and carry an
empty description, as QRadar sends them.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.core.endpoints import BY_ID, V12, V13, V15, V18, V26, EndpointId
from engine.core.frozen import record
from engine.core.lifecycle import BACKUP_DELETABLE, RESTORE_DELETABLE
from engine.core.records import BACKUP_SORTABLE, RESTORE_SORTABLE
from engine.core.versions import ApiVersion

E = EndpointId
ALL_ENDPOINTS: frozenset[EndpointId] = frozenset(EndpointId)

#: `http_response.message` per status, as real consoles send it (reference section 1.4, [OBS]
#: where observed on the wire, IBM's table otherwise).
HTTP_MESSAGES: dict[int, str] = {
    400: "Invalid syntax for this request was provided.",
    401: "You are unauthorized to access the requested resource.",
    403: "Your account is not authorized to access the requested resource",
    404: "We could not find the resource you requested.",
    405: "This method type is not currently supported.",
    406: "Acceptance header is invalid for this endpoint resource.",
    409: "The request could not be completed due to a conflict with the current state of the "
    "resource",
    410: "The requested resource is no longer available and has been permanently removed.",
    413: "The request entity is larger than the server is willing or able to process.",
    415: "The requested resource does not support the media type provided.",
    422: "The request was well-formed but was unable to be followed due to semantic errors",
    500: "Unexpected internal server error",
    503: "The server is currently unavailable.",
}


@record
class Code:
    """One catalogue entry.

    `texts` maps the first version of each wording to the description; `message` is the template
    of the specific `message` sentence (formatted with the error's details), defaulting to the
    description. `description is None` is QRadar's literal `null` (1034-1037).
    """

    http_status: int
    unique: int
    texts: tuple[tuple[ApiVersion, str | None], ...]
    endpoints: frozenset[EndpointId]
    since: ApiVersion = V12
    message: str | None = None
    framework: bool = False
    reason: str = ""  # what provokes it in the simulator, for docs and help endpoints

    def description(self, version: ApiVersion) -> str | None:
        """The documented text as the given version prints it."""
        chosen = self.texts[0][1]
        for first, text in self.texts:
            if version >= first:
                chosen = text
        return chosen

    def exists_in(self, version: ApiVersion, endpoint: EndpointId) -> bool:
        return version >= self.since and endpoint in self.endpoints


def _code(
    status: int,
    unique: int,
    text: str | None,
    endpoints: Iterable[EndpointId],
    *,
    since: ApiVersion = V12,
    later: tuple[tuple[ApiVersion, str], ...] = (),
    message: str | None = None,
    reason: str = "",
) -> Code:
    return Code(
        status, unique, ((V12, text), *later), frozenset(endpoints), since, message, False, reason
    )


def _framework(status: int, unique: int, message: str, reason: str) -> Code:
    return Code(status, unique, ((V12, ""),), ALL_ENDPOINTS, V12, message, True, reason)


_RESTORE_RUNNING = (
    "A restore is currently in progress. No new backup or restore processes can be initiated "
    "while the current process is running."
)
_1009_OLD = "The DEPLOYMENT_CONFIG group must be included with the INSTALLED_APPS_CONFIG group."
_1009_NEW = (
    "The DEPLOYMENT_CONFIG group must be included with the INSTALLED_APPS_CONFIG or "
    "OFFENSES_DATA group."
)


def _error_1000(endpoint: EndpointId) -> Code:
    """The endpoint's 500: its text names the endpoint's action (the endpoint table's)."""
    action = BY_ID[endpoint].action
    return _code(500, 1000, f"An error occurred during the attempt to {action}.", (endpoint,),
                 reason="an unexpected store failure, or fault injection")  # fmt: skip


CATALOGUE: tuple[Code, ...] = (
    # --- backups -------------------------------------------------------------------------
    _code(404, 1001, "The backup does not exist.", (E.BACKUP_GET, E.BACKUP_UPDATE, E.BACKUP_DELETE),
          message="The backup with id {id} does not exist.", reason="no backup with that id"),
    _code(409, 1005, "The 'name' parameter value must be unique.", (E.BACKUP_CREATE,),
          message="A backup named {name} already exists.", reason="a backup of that name exists"),
    _code(409, 1011, "An undeployed configuration change has been detected. Deploy staged changes "
          "then try again.", (E.BACKUP_CREATE,),
          reason="the world's backup configuration has undeployed changes"),
    _code(409, 1015, "A backup is already in progress on the host.", (E.BACKUP_CREATE,),
          message="A backup is already in progress on the host {host_id}.",
          reason="a backup runs on the same host"),
    _code(409, 1016, _RESTORE_RUNNING, (E.BACKUP_CREATE,), reason="a restore holds the gate"),
    _code(422, 1002, "The 'name' parameter value cannot be null or empty.", (E.BACKUP_CREATE,)),
    _code(422, 1003, "The 'name' parameter value must not exceed 100 characters.",
          (E.BACKUP_CREATE,)),
    _code(422, 1004, "The 'name' parameter must contain only alphanumerics and '_', '-' or '.'.",
          (E.BACKUP_CREATE,)),
    _code(422, 1006, "The 'configuration_id' parameter value cannot be null or empty.",
          (E.BACKUP_CREATE,)),
    _code(422, 1007, "The backup configuration does not exist.", (E.BACKUP_CREATE,),
          message="The backup configuration {configuration_id} does not exist."),
    _code(422, 1008, "The 'description' parameter value must not exceed 255 characters.",
          (E.BACKUP_CREATE, E.BACKUP_UPDATE)),
    _code(422, 1009, "The backup host does not exist.", (E.BACKUP_CREATE,),
          message="The backup host {host_id} does not exist."),
    _code(422, 1010, "The provided host_id corresponds to a host that is currently not active. "
          "For more information, see the following Hosts API: api/config/deployment/hosts",
          (E.BACKUP_CREATE,)),
    _code(422, 1012, "The provided host_id corresponds to a host that is not the console and the "
          "backup type is CONFIG. A config backup can only take place on the console.",
          (E.BACKUP_CREATE,)),
    _code(422, 1013, "Data backups can only be done on hosts that store ariel data. For more "
          "information, see the following Hosts API: api/config/deployment/hosts",
          (E.BACKUP_CREATE,)),
    _code(422, 1014, "The host is not configured for data backups. See the Backup Configuration "
          "API for more information: api/config/backup_and_restore/"
          "scheduled_backup_configurations", (E.BACKUP_CREATE,)),
    _code(422, 1017, "Backups can be deleted only in the following states: "
          f"{', '.join(BACKUP_DELETABLE)}.", (E.BACKUP_DELETE,),
          message="The backup {id} is {status} and cannot be deleted."),
    _code(422, 1018, "The Sort field must be one of the following fields: "
          f"[{', '.join(BACKUP_SORTABLE)}].", (E.BACKUPS_LIST,)),
    _error_1000(E.BACKUPS_LIST),
    _code(500, 1021, "An error occurred during the attempt to retrieve the backups.",
          (E.BACKUPS_LIST,), since=V26, reason="fault injection only (26.0+)"),
    _error_1000(E.BACKUP_CREATE),
    _error_1000(E.BACKUP_GET),
    _error_1000(E.BACKUP_UPDATE),
    _error_1000(E.BACKUP_DELETE),
    # --- restores ------------------------------------------------------------------------
    _code(404, 1001, "The restore does not exist.",
          (E.RESTORE_GET, E.RESTORE_UPDATE, E.RESTORE_DELETE, E.HA_ACTION, E.IPTABLES_UPDATE),
          message="The restore with id {id} does not exist.", reason="no restore with that id"),
    _code(409, 1011, "A restore is currently pending or in progress. Only a single restore record "
          "can be created at a time and all other existing restores must be in a completed "
          "state. A completed restore has the status of SUCCESS or FAILED.", (E.RESTORE_CREATE,),
          reason="an unfinished restore record exists"),
    _code(409, 1014, "Rebalancing is currently in progress. No restore process can be initiated.",
          (E.RESTORE_UPDATE,), reason="the console is rebalancing"),
    _code(409, 1015, "A backup is currently in progress. No new backup or restore processes can "
          "be initiated while the current process is running.", (E.RESTORE_UPDATE,),
          reason="a backup runs on any host"),
    _code(409, 1016, _RESTORE_RUNNING, (E.RESTORE_UPDATE,),
          reason="another restore holds the gate (a deleted record's job, or one from the UI)"),
    _code(422, 1002, "The 'backup_id' parameter value cannot be null or empty.",
          (E.RESTORE_CREATE,)),
    _code(422, 1003, "The backup does not exist.", (E.RESTORE_CREATE,),
          message="The backup {backup_id} does not exist."),
    _code(422, 1004, "The backup type must be config.", (E.RESTORE_CREATE,)),
    _code(422, 1005, "The backup status must be successful.", (E.RESTORE_CREATE,)),
    _code(422, 1006, "The backup must be valid.", (E.RESTORE_CREATE,)),
    _code(422, 1007, "The backup must be compatible.", (E.RESTORE_CREATE,)),
    _code(422, 1008, "The 'groups' parameter value cannot be null or empty.", (E.RESTORE_CREATE,)),
    _code(422, 1009, _1009_OLD, (E.RESTORE_CREATE,), later=((V18, _1009_NEW),)),
    _code(422, 1010, "A group was provided that does not exist.", (E.RESTORE_CREATE,),
          message="The group {group} does not exist."),
    _code(422, 1019, '"The ASSETS_DATA and USERS_CONFIG groups must be included with DOMAINS '
          'group."', (E.RESTORE_CREATE,), since=V15,
          reason="[inference] ASSETS_DATA or USERS_CONFIG without DEPLOYMENT_CONFIG, the group "
          "that carries domains"),
    _code(422, 1012, "Only restores that are in the PENDING state are updated.",
          (E.RESTORE_UPDATE,), message="The restore {id} is {status}, not PENDING."),
    _code(422, 1013, "The 'status' parameter value can only be updated to REQUESTING.",
          (E.RESTORE_UPDATE,)),
    _code(422, 1030, "The restore_site_host_id must have a qflow component.",
          (E.RESTORE_UPDATE,), since=V13),
    _code(422, 1031, "The restore_site_host_id must be a valid host ID.", (E.RESTORE_UPDATE,),
          since=V13),
    _code(422, 1032, "The restore_site_event_collector_id is not an event collector component.",
          (E.RESTORE_UPDATE,), since=V13),
    _code(422, 1033, "The restore_site_event_collector_id does not exist.", (E.RESTORE_UPDATE,),
          since=V13),
    _code(422, 1034, None, (E.RESTORE_UPDATE,), since=V13, message="",
          reason="undocumented: fault injection only"),
    _code(422, 1035, None, (E.RESTORE_UPDATE,), since=V13, message="",
          reason="undocumented: fault injection only"),
    _code(422, 1036, None, (E.RESTORE_UPDATE,), since=V15, message="",
          reason="undocumented: fault injection only"),
    _code(422, 1037, None, (E.RESTORE_UPDATE,), since=V15, message="",
          reason="undocumented: fault injection only"),
    _code(422, 1017, "Restores can be deleted only in the following states: "
          f"{', '.join(RESTORE_DELETABLE)}.", (E.RESTORE_DELETE,),
          message="The restore {id} is {status} and cannot be deleted."),
    _code(422, 1018, "The sort field must be one of the following fields: "
          f"[{', '.join(RESTORE_SORTABLE)}].", (E.RESTORES_LIST,)),
    _error_1000(E.RESTORES_LIST),
    _error_1000(E.RESTORE_CREATE),
    _error_1000(E.RESTORE_GET),
    _error_1000(E.RESTORE_UPDATE),
    _error_1000(E.RESTORE_DELETE),
    _error_1000(E.HA_ACTION),
    _error_1000(E.IPTABLES_UPDATE),
)  # fmt: skip

#: Framework codes: the same on every endpoint (reference section 4.3). Where QRadar's code is
#: not documented (405, 406, 413, 415, 503, version errors) the simulator's choice is marked.
FRAMEWORK: tuple[Code, ...] = (
    _framework(404, 4, "Relative path ({path}) is not a known endpoint resource. Please refer to "
               "documentation for list of endpoint resources.", "unknown path, or an endpoint "
               "that does not exist in the requested version"),
    _framework(422, 8, 'Missing required parameter "{name}" from {placement} parameters',
               "a required query or header parameter is absent"),
    _framework(422, 10, 'Request body must be populated for body parameter "{name}"',
               "a required JSON body is absent"),
    _framework(422, 11, 'Failed to transform user {placement} parameter "{name}" with a content '
               'type of "{content_type}"',
               "a parameter that cannot be read: bad JSON, wrong type, bad enum value"),
    _framework(401, 18, 'No SEC header present in request. Please provide it via "SEC: token". '
               "You may also use BASIC authentication parameters if this host supports it. e.g. "
               '"Authorization: Basic base64Encoding"', "no or unknown credentials"),
    _framework(403, 26, "User has insufficient capabilities to access this endpoint resource",
               "a token without the admin capability"),
    _framework(422, 30, 'Specified field "{name}" is not recognized by this endpoint for media '
               'type "application/json"', "an unknown name in fields"),
    _framework(422, 31, 'fields parameter value "{value}" was invalid. Specified field "{name}" '
               "was used more than once at the same level", "a name twice in fields"),
    _framework(422, 36, "Failed to parse Range header. The syntax of the Range header must follow "
               "this pattern: items=x-y", "a malformed Range header"),
    _framework(422, 37, 'Range of pages specified in "Range" header is negative. Non-negative '
               "page range must be specified.", "[simulator's code] a Range whose end is before "
               "its start"),
    _framework(422, 12, 'Failed to parse filter parameter "{value}": {reason}',
               "[simulator's code] a filter that does not parse or names an unknown field"),
    _framework(422, 13, "Version ({value}) from header parameter (Version) is not a valid "
               "version. Please refer to documentation for list of valid versions.",
               "[simulator's code] an unknown Version"),
    _framework(422, 14, "Version ({value}) from header parameter (Version) has been removed and "
               "is no longer valid. Please refer to documentation for list of valid versions.",
               "[simulator's code] a removed Version"),
    _framework(405, 15, "{method} is not a supported method for the endpoint resource {path}.",
               "[simulator's code] a method the path does not have"),
    _framework(406, 16, "Acceptance header is invalid for this endpoint resource. Supported "
               "media types: {supported}", "[simulator's code] an Accept header the endpoint "
               "cannot satisfy"),
    _framework(413, 17, "The request body is larger than {limit} bytes.",
               "[simulator's code] a body over the size limit"),
    _framework(415, 19, 'Content type "{content_type}" is not supported. Supported media types: '
               "application/json", "[simulator's code] a body that is not JSON"),
    _framework(503, 20, "All services are stopped until the restore is completed.",
               "[simulator's code] outage mode while a restore runs"),
    _framework(403, 22, "The QRadarCSRF header is missing or does not match the session.",
               "[simulator's code] a write in a session (its SEC cookie) without the session's "
               "QRadarCSRF header"),
    _framework(500, 1020, "An unexpected error has occurred.", "a help endpoint failed"),
    _framework(503, 21, "The console cannot store or read its data now ({cause}). Retry later.",
               "[simulator's code] the simulator's database fails (disk full, I/O error, "
               "read-only, locked by another process past the timeout, or corrupt): while it "
               "lasts"),
)  # fmt: skip


def _help(unique: int, text: str) -> Code:
    return Code(404, unique, ((V12, text),), frozenset(), V12, None, False, "no such help id")


#: The 404 codes of the help endpoints that read one object by id (IBM's 26.0 pages
#: 26.0--help-versions-version_id-GET, -resources-resource_id-GET, -endpoints-endpoint_id-GET).
#: They are codes of help endpoints, not of this family's: `lookup` does not return them.
NO_VERSION_DOC = _help(
    1002, "No version documentation object was found for the provided version id."
)
NO_RESOURCE_DOC = _help(
    1002, "No resource documentation object was found for the provided resource ID."
)
NO_ENDPOINT_DOC = _help(
    1002, "No endpoint documentation object was found for the provided endpoint id."
)


class UnknownCode(LookupError):
    """No catalogue entry for that (endpoint, unique code)."""


def lookup(endpoint: EndpointId | None, unique: int) -> Code:
    """The entry for a unique code as answered by an endpoint (framework codes by code alone)."""
    for code in FRAMEWORK:
        if code.unique == unique:
            return code
    for code in CATALOGUE:
        if code.unique == unique and endpoint in code.endpoints:
            return code
    raise UnknownCode(f"no code {unique} on endpoint {endpoint}")


def for_endpoint(endpoint: EndpointId, version: ApiVersion) -> tuple[Code, ...]:
    """The endpoint-specific codes a version documents for an endpoint (help, OpenAPI, tests)."""
    return tuple(c for c in CATALOGUE if c.exists_in(version, endpoint))


#: Name the framework entries once, so that code never spells their numbers.
UNKNOWN_PATH = lookup(None, 4)
MISSING_PARAMETER = lookup(None, 8)
MISSING_BODY = lookup(None, 10)
UNREADABLE_PARAMETER = lookup(None, 11)
UNAUTHORIZED = lookup(None, 18)
FORBIDDEN = lookup(None, 26)
UNKNOWN_FIELD = lookup(None, 30)
DUPLICATE_FIELD = lookup(None, 31)
BAD_RANGE = lookup(None, 36)
NEGATIVE_RANGE = lookup(None, 37)
BAD_FILTER = lookup(None, 12)
VERSION_NOT_VALID = lookup(None, 13)
VERSION_REMOVED = lookup(None, 14)
METHOD_NOT_ALLOWED = lookup(None, 15)
NOT_ACCEPTABLE = lookup(None, 16)
BODY_TOO_LARGE = lookup(None, 17)
UNSUPPORTED_MEDIA_TYPE = lookup(None, 19)
SERVICES_STOPPED = lookup(None, 20)
HELP_FAILED = lookup(None, 1020)
STORAGE_UNAVAILABLE = lookup(None, 21)
CSRF_REFUSED = lookup(None, 22)
