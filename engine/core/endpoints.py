"""The endpoints of the backup_and_restore family: the route table every adapter derives from.

Each endpoint is written once here with its method, path, the version that introduced it, its
parameters and its success response. The HTTP router, `/api/help/endpoints`, the OpenAPI document
and the code catalogue's endpoint lists all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.core.versions import ApiVersion

V12 = ApiVersion(12, 0)
V13 = ApiVersion(13, 0)
V15 = ApiVersion(15, 0)
V18 = ApiVersion(18, 0)
V21 = ApiVersion(21, 0)
V26 = ApiVersion(26, 0)


class Placement(StrEnum):
    """Where a parameter travels, in QRadar's words (`/api/help/endpoints` `type`)."""

    QUERY = "QUERY"
    HEADER = "HEADER"
    PATH = "PATH"
    BODY = "BODY"


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    placement: Placement
    data_type: str  # QRadar's spelling: "String", "Number (Integer)", "Object", "Array<Object>"
    required: bool
    description: str
    mime_type: str = "text/plain"


class EndpointId(StrEnum):
    """Short names of the family's endpoints, as the reference's code table uses them."""

    BACKUPS_LIST = "Bl"
    BACKUP_CREATE = "Bc"
    BACKUP_GET = "Bg"
    BACKUP_UPDATE = "Bu"
    BACKUP_DELETE = "Bd"
    RESTORES_LIST = "Rl"
    RESTORE_CREATE = "Rc"
    RESTORE_GET = "Rg"
    RESTORE_UPDATE = "Ru"
    RESTORE_DELETE = "Rd"
    HA_ACTION = "Ha"
    IPTABLES_UPDATE = "Ip"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One documented endpoint; `path` is relative to `/api`."""

    id: EndpointId
    method: str
    path: str
    since: ApiVersion
    summary: str
    success_status: int
    success_text: str
    resource: str  # "backup" or "restore": the record kind the endpoint works on
    action: str  # the verb of its 500/1000 text: "retrieve the backups"
    parameters: tuple[Parameter, ...]
    response_mime_type: str = "application/json"

    @property
    def is_list(self) -> bool:
        return self.id in (EndpointId.BACKUPS_LIST, EndpointId.RESTORES_LIST)

    @property
    def fields_placement(self) -> Placement | None:
        """Where the endpoint reads `fields`: query on GETs and DELETE /backups, header on POSTs."""
        for p in self.parameters:
            if p.name == "fields":
                return p.placement
        return None

    @property
    def body_parameter(self) -> Parameter | None:
        for p in self.parameters:
            if p.placement is Placement.BODY:
                return p
        return None

    def exists_in(self, version: ApiVersion) -> bool:
        return version >= self.since


_FIELDS_QUERY = Parameter(
    "fields",
    Placement.QUERY,
    "String",
    False,
    "Use this parameter to specify which fields you would like to get back in the response. "
    "Fields that are not named are excluded. Specify subfields in brackets and multiple fields "
    "in the same object are separated by commas.",
)
_FIELDS_HEADER = Parameter("fields", Placement.HEADER, "String", False, _FIELDS_QUERY.description)
_RANGE = Parameter(
    "Range",
    Placement.HEADER,
    "String",
    False,
    "Use this parameter to restrict the number of elements that are returned in the list to a "
    "specified range. The list is indexed starting at zero.",
)
_FILTER = Parameter(
    "filter",
    Placement.QUERY,
    "String",
    False,
    "This parameter is used to restrict the elements in a list base on the contents of various "
    "fields.",
)
_SORT = Parameter(
    "sort",
    Placement.QUERY,
    "String",
    False,
    "This parameter is used to sort the elements in a list.",
)


def _id(what: str) -> Parameter:
    return Parameter("id", Placement.PATH, "Number (Integer)", True, f"The id of the {what}.")


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        EndpointId.BACKUPS_LIST, "GET", "/backup_and_restore/backups", V12,
        "Retrieves a list of all backups.", 200, "The backups were retrieved.",
        "backup", "retrieve the backups", (_RANGE, _FIELDS_QUERY, _FILTER, _SORT),
    ),
    Endpoint(
        EndpointId.BACKUP_CREATE, "POST", "/backup_and_restore/backups", V12,
        "Creates a backup on demand.", 201, "The backup was created.",
        "backup", "create the backup",
        (
            Parameter("backup_type", Placement.HEADER, "String", True,
                      "The type of the backup: CONFIG or DATA."),
            _FIELDS_HEADER,
            Parameter("backup", Placement.BODY, "Object", True,
                      "The backup to create: name, configuration_id, description, host_id.",
                      "application/json"),
        ),
    ),
    Endpoint(
        EndpointId.BACKUP_GET, "GET", "/backup_and_restore/backups/{id}", V12,
        "Retrieves a backup by ID.", 200, "The backup was retrieved.",
        "backup", "retrieve the backup", (_id("backup"), _FIELDS_QUERY),
    ),
    Endpoint(
        EndpointId.BACKUP_UPDATE, "POST", "/backup_and_restore/backups/{id}", V12,
        "Updates an existing backup by ID.", 200, "The backup was updated.",
        "backup", "update the backup",
        (
            _id("backup"),
            _FIELDS_HEADER,
            Parameter("backup", Placement.BODY, "Object", True,
                      "The backup fields to update; only description is modifiable.",
                      "application/json"),
        ),
    ),
    Endpoint(
        EndpointId.BACKUP_DELETE, "DELETE", "/backup_and_restore/backups/{id}", V12,
        "Deletes or cancels an existing backup by ID.", 202,
        "A request was successfully sent to deleted the backup.",
        "backup", "delete the backup", (_id("backup"), _FIELDS_QUERY),
    ),
    Endpoint(
        EndpointId.RESTORES_LIST, "GET", "/backup_and_restore/restores", V12,
        "Retrieves a list of all restores.", 200, "The restores were retrieved.",
        "restore", "retrieve the restores", (_RANGE, _FIELDS_QUERY, _FILTER, _SORT),
    ),
    Endpoint(
        EndpointId.RESTORE_CREATE, "POST", "/backup_and_restore/restores", V12,
        "Creates a restore in the PENDING state.", 201, "The restore was created.",
        "restore", "create the restore",
        (
            _FIELDS_HEADER,
            Parameter("restore", Placement.BODY, "Object", True,
                      "The restore to create: backup_id and groups.", "application/json"),
        ),
    ),
    Endpoint(
        EndpointId.RESTORE_GET, "GET", "/backup_and_restore/restores/{id}", V12,
        "Retrieves a restore by ID.", 200, "The restore was retrieved.",
        "restore", "retrieve the restore", (_id("restore"), _FIELDS_QUERY),
    ),
    Endpoint(
        EndpointId.RESTORE_UPDATE, "POST", "/backup_and_restore/restores/{id}", V12,
        "Updates an existing restore by ID.", 200, "The restore was updated.",
        "restore", "update the restore",
        (
            _id("restore"),
            _FIELDS_HEADER,
            Parameter("restore", Placement.BODY, "Object", True,
                      "Only status is modifiable, and only to REQUESTING.", "application/json"),
        ),
    ),
    Endpoint(
        EndpointId.RESTORE_DELETE, "DELETE", "/backup_and_restore/restores/{id}", V12,
        "Deletes an existing restore record by ID.", 204, "The restore was successfully deleted.",
        "restore", "delete the restore", (_id("restore"),), response_mime_type="text/plain",
    ),
    Endpoint(
        EndpointId.HA_ACTION, "GET", "/backup_and_restore/haAction/{flag}", V21,
        "Done an individual HA Action as per passing flag.", 200, "The restore was retrieved.",
        "restore", "retrieve the restore",
        (
            Parameter("flag", Placement.PATH, "String", True,
                      "the action for the HA will be performed as per flag"),
            _FIELDS_QUERY,
        ),
    ),
    Endpoint(
        EndpointId.IPTABLES_UPDATE, "POST", "/backup_and_restore/updateiptablesprefile", V21,
        "Done an individual HA Action as per passing flag.", 200, "The restore was retrieved.",
        "restore", "retrieve the restore",
        (
            _FIELDS_HEADER,
            Parameter("restore", Placement.BODY, "Object", True, "null", "application/json"),
        ),
    ),
)  # fmt: skip

BY_ID: dict[EndpointId, Endpoint] = {e.id: e for e in ENDPOINTS}
