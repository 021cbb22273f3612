"""The endpoints of the backup_and_restore family: the route table every adapter derives from.

Each endpoint is written once here with its method, path, the version that introduced it, its
success response, and what the OpenAPI document groups and names it by (its tag, the schema of
its request body and of its answer); its words (summary, parameters, descriptions, samples) are
its page's, in `engine.core.pages`. The HTTP router, `/api/help/endpoints`, the OpenAPI document
and the code catalogue's endpoint lists all read this table.
"""

from __future__ import annotations

from enum import StrEnum

from engine.core.enums import JobKind
from engine.core.frozen import record
from engine.core.pages import PAGES, Page
from engine.core.pages import Parameter as Parameter  # re-exported: the route table's vocabulary
from engine.core.pages import Placement as Placement
from engine.core.versions import V21 as V21
from engine.core.versions import V26 as V26
from engine.core.versions import ApiVersion

V12 = ApiVersion(12, 0)
V13 = ApiVersion(13, 0)
V15 = ApiVersion(15, 0)
V18 = ApiVersion(18, 0)


#: The text of each success status, as `/api/help/endpoints` words it
#: (`response_code_description`); the OpenAPI document uses the same words.
SUCCESS_MESSAGES: dict[int, str] = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content"}


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


@record
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
    action: str  # what it does, as its 500/1000 text says: "retrieve the backups"
    parameters: tuple[Parameter, ...]
    tag: str  # the group of the OpenAPI document: "backups", "restores", "ha"
    body: str | None  # the shape of the request body; None: no body, or any object
    answer: str | None  # the record shape of the success body (a list of them on list endpoints)
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

    @property
    def page(self) -> Page:
        """IBM's page of the endpoint: every text it prints, per version."""
        return PAGES[f"{self.method} {self.path}"]


def _endpoint(
    id: EndpointId, method: str, path: str, since: ApiVersion, success_status: int,
    success_text: str, resource: str, action: str, *, tag: str, body: str | None = None,
    answer: str | None, response_mime_type: str = "application/json",
) -> Endpoint:  # fmt: skip
    """An endpoint whose summary and parameters are its page's (`engine.core.pages`)."""
    page = PAGES[f"{method} {path}"]
    return Endpoint(id, method, path, since, page.summary, success_status, success_text,
                    resource, action, page.parameters, tag, body, answer,
                    response_mime_type)  # fmt: skip


ENDPOINTS: tuple[Endpoint, ...] = (
    _endpoint(EndpointId.BACKUPS_LIST, "GET", "/backup_and_restore/backups", V12, 200,
              "The backups were retrieved.", "backup", "retrieve the backups",
              tag="backups", answer="BackupListItem"),
    _endpoint(EndpointId.BACKUP_CREATE, "POST", "/backup_and_restore/backups", V12, 201,
              "The backup was created.", "backup", "create the backup",
              tag="backups", body="BackupCreate", answer="Backup"),
    _endpoint(EndpointId.BACKUP_GET, "GET", "/backup_and_restore/backups/{id}", V12, 200,
              "The backup was retrieved.", "backup", "retrieve the backup",
              tag="backups", answer="Backup"),
    _endpoint(EndpointId.BACKUP_UPDATE, "POST", "/backup_and_restore/backups/{id}", V12, 200,
              "The backup was updated.", "backup", "update the backup",
              tag="backups", body="BackupUpdate", answer="Backup"),
    _endpoint(EndpointId.BACKUP_DELETE, "DELETE", "/backup_and_restore/backups/{id}", V12, 202,
              "A request was successfully sent to deleted the backup.", "backup",
              "delete the backup", tag="backups", answer="Backup"),
    _endpoint(EndpointId.RESTORES_LIST, "GET", "/backup_and_restore/restores", V12, 200,
              "The restores were retrieved.", "restore", "retrieve the restores",
              tag="restores", answer="Restore"),
    _endpoint(EndpointId.RESTORE_CREATE, "POST", "/backup_and_restore/restores", V12, 201,
              "The restore was created.", "restore", "create the restore",
              tag="restores", body="RestoreCreate", answer="Restore"),
    _endpoint(EndpointId.RESTORE_GET, "GET", "/backup_and_restore/restores/{id}", V12, 200,
              "The restore was retrieved.", "restore", "retrieve the restore",
              tag="restores", answer="Restore"),
    _endpoint(EndpointId.RESTORE_UPDATE, "POST", "/backup_and_restore/restores/{id}", V12, 200,
              "The restore was updated.", "restore", "update the restore",
              tag="restores", body="RestoreUpdate", answer="Restore"),
    _endpoint(EndpointId.RESTORE_DELETE, "DELETE", "/backup_and_restore/restores/{id}", V12, 204,
              "The restore was successfully deleted.", "restore", "delete the restore",
              tag="restores", answer=None, response_mime_type="text/plain"),
    _endpoint(EndpointId.HA_ACTION, "GET", "/backup_and_restore/haAction/{flag}", V21, 200,
              "The restore was retrieved.", "restore", "retrieve the restore",
              tag="ha", answer="Restore"),
    _endpoint(EndpointId.IPTABLES_UPDATE, "POST", "/backup_and_restore/updateiptablesprefile",
              V21, 200, "The restore was retrieved.", "restore", "retrieve the restore",
              tag="ha", answer="Restore"),
)  # fmt: skip

BY_ID: dict[EndpointId, Endpoint] = {e.id: e for e in ENDPOINTS}


#: The family's collection of each kind of job, as its paths spell it.
COLLECTIONS: dict[JobKind, str] = {JobKind.BACKUP: "backups", JobKind.RESTORE: "restores"}


def kind_of_path(path: str) -> JobKind | None:
    """The kind of record a family path, or an operation such as `POST /restores/{id}`, is
    about (None: neither)."""
    for kind, collection in COLLECTIONS.items():
        if f"/{collection}" in path:
            return kind
    return None
