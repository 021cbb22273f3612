"""The texts of IBM's endpoint pages, per API version: the one table of them.

Everything a page says in words lives here: summary, description (with the "Note" paragraph
the pages carry from 21.0 and the "Important" one they always carry), each parameter's row
(type, optionality, data type, MIME type, description, body sample), the response
description and the response sample. The route table (`engine.core.endpoints`),
`/api/help/endpoints` and the OpenAPI document read it; nothing else spells these texts.

Source: IBM's 26.0 pages, https://ibmsecuritydocs.github.io/qradar_api_26.0/26.0--backup_and_restore-<...>.html
(read from the copy in binhnguyen143/qradar_api_26.0_docs), written as the page renders
them: paragraphs and list items one a line, list items as "  • " indented two spaces a level
(as IBM's saved POST /backup_and_restore/restores/{id} page of 15.0-20.0 shows).
Per version (reference section 0.3): the "Note" paragraphs appear in 21.0; GET /backups
documents `app_deployment_location` from 26.0; 27.0 is identical to 26.0. A text IBM prints
as `null` (the path `id` of POST /restores/{id}, the body of POST /updateiptablesprefile) is
kept as printed, `NULL_TEXT`; `/api/help/endpoints` shows it as JSON null, as the catalogue
shows codes 1034-1037 (docs/decisions.md).
"""

from __future__ import annotations

import json
from enum import StrEnum

from engine.core.frozen import record
from engine.core.versions import V21, V26, ApiVersion

#: What a page prints where its source has no text.
NULL_TEXT = "null"


class Placement(StrEnum):
    """Where a parameter travels, in QRadar's words (`/api/help/endpoints` `type`)."""

    QUERY = "QUERY"
    HEADER = "HEADER"
    PATH = "PATH"
    BODY = "BODY"


@record
class Parameter:
    """One row of a page's parameter or body table."""

    name: str
    placement: Placement
    data_type: str  # QRadar's spelling: "String", "Number (Integer)", "Object"
    required: bool
    description: str  # NULL_TEXT where the page prints `null`
    mime_type: str = "text/plain"
    sample: str | None = None  # the body sample


@record
class Page:
    """The words of one endpoint's page; `versioned` texts change at the versions they name."""

    summary: str
    parameters: tuple[Parameter, ...]
    note: str | None = None  # the "Note:" paragraph, printed from 21.0
    important: str | None = None  # the "Important:" paragraph, printed in every version
    response_description: str = ""
    response_sample: str | None = None
    #: (first version, response description, response sample) of a later wording
    later: tuple[tuple[ApiVersion, str, str | None], ...] = ()

    def description(self, version: ApiVersion) -> str:
        lines = [self.summary]
        if self.note is not None and version >= V21:
            lines.append(f"Note: {self.note}")
        if self.important is not None:
            lines.append(f"Important: {self.important}")
        return "\n".join(lines)

    def response(self, version: ApiVersion) -> tuple[str, str | None]:
        """The response description and sample as that version's page prints them."""
        chosen = (self.response_description, self.response_sample)
        for first, text, sample in self.later:
            if version >= first:
                chosen = (text, sample)
        return chosen

    def changes(self) -> tuple[ApiVersion, ...]:
        """The versions in which the page's words changed (for `last_modified_version`)."""
        return ((V21,) if self.note is not None else ()) + tuple(v for v, _, _ in self.later)


def _sample(shape: object) -> str:
    """A response sample as IBM prints it: keys sorted, four-space indent."""
    return json.dumps(shape, indent=4, sort_keys=True)


_RANGE = Parameter(
    "Range",
    Placement.HEADER,
    "String",
    False,
    "Optional - Use this parameter to restrict the number of elements that are returned in the "
    "list to a specified range. The list is indexed starting at zero.",
)
_FIELDS_TEXT = (
    "Optional - Use this parameter to specify which fields you would like to get back in the "
    "response. Fields that are not named are excluded. Specify subfields in brackets and "
    "multiple fields in the same object are separated by commas."
)
_FIELDS_QUERY = Parameter("fields", Placement.QUERY, "String", False, _FIELDS_TEXT)
_FIELDS_HEADER = Parameter("fields", Placement.HEADER, "String", False, _FIELDS_TEXT)
_SORT = Parameter(
    "sort",
    Placement.QUERY,
    "String",
    False,
    "Optional - This parameter is used to sort the elements in a list.",
)
_FILTER = Parameter(
    "filter",
    Placement.QUERY,
    "String",
    False,
    "Optional - This parameter is used to restrict the elements in a list base on the contents "
    "of various fields.",
)


def _id(description: str) -> Parameter:
    return Parameter("id", Placement.PATH, "Number (Integer)", True, description)


def _body(name: str, description: str, sample: str) -> Parameter:
    return Parameter(name, Placement.BODY, "Object", True, description, "application/json", sample)


_BACKUP_FIELDS = (
    "  • id - Long - The ID of the backup.\n"
    "  • configuration_id - Long - The ID of the configuration. This will always be 1. See the "
    "Backup Configuration APIs for more information:\n"
    "    • api/config/backup_and_restore/scheduled_backup_configurations\n"
    "    • api/staged_config/backup_and_restore/scheduled_backup_configurations\n"
    "  • host_id - Long - The host that corresponds with the backup. For more information, see "
    "the following Hosts API:\n"
    "    • api/config/deployment/hosts\n"
    "  • name - String - The name of the backup.\n"
    "  • description - String - An optional description of the backup.\n"
    "  • type - Enumeration - The backup type. The following values are available: CONFIG, "
    "DATA.\n"
    "  • version - String - The QRadar version that corresponds to the backup.\n"
    "  • time_initiated - Long - The number of milliseconds since epoch when the backup was "
    "started.\n"
    "  • time_completed - Long - The number of milliseconds since epoch when the backup "
    "completed.\n"
    "  • initiated_by - String - The user or authorized service that started the backup.\n"
    "  • status - Enumeration - The status of the backup. The following values are available: "
    "INITIALIZING, IN_PROGRESS, FAILED, SUCCESS, CANCELLING, DELETING, MISSING.\n"
    "    • INITIALIZING: The initial state of the backup when it is created. In this state a "
    "backup object is created and a request to the Backup and Restore Engine is sent.\n"
    "    • IN_PROGRESS: When the backup request is received by the Backup and Restore Engine, "
    "the status is updated IN_PROGRESS.\n"
    "    • FAILED: If the backup has completed with errors, the status is updated to FAILED.\n"
    "    • SUCCESS: If the backup has completed without errors, the status is updated to "
    "SUCCESS.\n"
    "    • CANCELLING: CANCELLING: If a request is sent from the API to delete a backup that is"
    " in progress, after the request is received by the Backup and Restore Engine, the backup "
    "status is updated to CANCELLING.\n"
    "    • DELETING: If a request is sent to delete a backup, after the request is received by "
    "the Backup and Restore Engine the backup status is updated to DELETING. The backup record,"
    " along with the backup file, is deleted.\n"
    "    • MISSING: If the backup file for a backup record is moved or deleted outside of the "
    "control of the Backup and Restore Engine, the status of that record is updated to MISSING.\n"
    "  • size_on_disk - Long - The size of the backup in bytes.\n"
    "  • content_file_path - String - The file path that corresponds to the backup contents.\n"
    "  • is_valid - Boolean - If the associated backup file, backup manifest and its properties"
    " are all in working order, the condition is set to 'true'; otherwise, the condition is set"
    " to 'false'. Some examples as to why the backup might not be valid are as follows:\n"
    "    • The backup manifest is missing properties.\n"
    "    • Unable to retrieve the backup manifest.\n"
    "    • The backup from a non-HA standby system cannot be restored on a Console that is "
    "configured as a HA standby system.\n"
    "    • The backup and the host product names do not match.\n"
    "    • The backup and the host appliance names do not match.\n"
    "    • The backup uses the current Console IP address for the non-Console managed host.\n"
    "  • is_version_compatible - Boolean - If the associated backup version is compatible with "
    "the system the condition is set to 'true'; otherwise, the condition is set to 'false'.\n"
)
_APP_DEPLOYMENT_LOCATION = (
    "  • app_deployment_location - String (CONSOLE, APPHOST, NA) - Indicates where the "
    "applications were deployed at the time of backup.\n"
    "    • CONSOLE – Applications are deployed on the console.\n"  # noqa: RUF001
    "    • APPHOST – Applications are deployed on the AppHost.\n"  # noqa: RUF001
    "    • NA – Backup type is 'data'.\n"  # noqa: RUF001 (IBM's en dashes)
)
_RESTORE_FIELDS = (
    "  • id - Long - The ID of the restore.\n"
    "  • initiated_by - String - The user or authorized service that initiated the restore.\n"
    "  • host_id - Long - The host that was restored. For more information, see the following "
    "Hosts API:\n"
    "    • api/config/deployment/hosts\n"
    "  • time_initiated - Long - The number of milliseconds since epoch when the restore was "
    "started.\n"
    "  • time_completed - Long - The number of milliseconds since epoch when the restore "
    "completed.\n"
    "  • status - Enumeration - The status of the restore. The following values are available: "
    "PENDING, REQUESTING, INITIALIZING, IN_PROGRESS, FAILED, SUCCESS.\n"
    "    • PENDING: This is the initial state of the restore once it is created. From this "
    "state the restore can be updated to the REQUESTING state.\n"
    "    • REQUESTING: After the status is set to REQUESTING, a restore request is sent to the "
    "Backup and Restore Engine to initialize it as a new restore.\n"
    "    • INITIALIZING: After the restore request is received by the Backup and Restore Engine"
    " it will update the status to INITIALIZING.\n"
    "    • IN_PROGRESS: After the restore process begins the status will be updated to "
    "IN_PROGRESS.\n"
    "    • FAILED: If the restore has completed with errors the status will be updated to "
    "FAILED.\n"
    "    • SUCCESS: If the restore has completed without errors the status will be updated to "
    "SUCCESS.\n"
    "  • is_cross_deployment_restore - Boolean - If the associated backup is being restored on "
    "a different Console with a set of new managed hosts, the condition is set to 'true'; "
    "otherwise, the condition is set to 'false'.\n"
    "  • backup_id - Long - The ID of the backup associated with the restore. Once the restore "
    "completes this value will be updated to null.\n"
    "  • backup_name - String - The name of the backup that was restored.\n"
    "  • backup_version - String - The QRadar version that corresponds to the backup that was "
    "restored.\n"
    "  • backup_type - Enumeration - The backup type that was restored. This value will always "
    "be CONFIG.\n"
    "  • backup_filename - String - The filename of the backup that was restored.\n"
    "  • groups - Array of Enumeration - The set of groups that are included with the restore. "
    "These groups contain a subset of the following values: CUSTOM_RULES_CONFIG, "
    "DEPLOYMENT_CONFIG, USERS_CONFIG, LICENSE_CONFIG, QVM_CONFIG, INSTALLED_APPS_CONFIG, "
    "REPORT_TEMPLATES, ASSETS_DATA, OFFENSES_DATA.\n"
    "    • CUSTOM_RULES_CONFIG: Restores custom rules, reference sets, reference data, and "
    "saved searches. If you have rules that depend on items other than reference data and saved"
    " searches, you need to use DEPLOYMENT_CONFIG in addition to CUSTOM_RULES_CONFIG for rules "
    "to be fully functional.\n"
    "    • DEPLOYMENT_CONFIG: Restores the deployment model and administrator controlled "
    "settings and content. This group includes, but is not limited to the following content: "
    "domains, log sources, flow sources, system settings, and forwarding rules.\n"
    "    • USERS_CONFIG: Restores users, authorized services, user roles, security profiles, "
    "and dashboards.\n"
    "    • LICENSE_CONFIG: NEEDS DESCRIPTION\n"
    "    • QVM_CONFIG: NEEDS DESCRIPTION\n"
    "    • INSTALLED_APPS_CONFIG: Restores installed applications.\n"
    "    • REPORT_TEMPLATES: Restores report templates.\n"
    "    • ASSETS_DATA: Restores the asset model.\n"
    "    • OFFENSES_DATA: Restores offenses. All offenses will be restored as closed."
)

_BACKUP_OBJECT = {
    "build_version": "String",
    "configuration_id": 42,
    "content_file_path": "String",
    "description": "String",
    "host_id": 42,
    "id": 42,
    "intiated_by": "String",
    "is_valid": True,
    "is_version_compatible": True,
    "name": "String",
    "size_on_disk": 42,
    "status": "String",
    "time_completed": 42,
    "time_initiated": 42,
    "type": "String",
    "version": "String",
}
_RESTORE_OBJECT = {
    "backup_filename": "String",
    "backup_id": 42,
    "backup_name": "String",
    "backup_type": "String",
    "backup_version": "String",
    "groups": ["String"],
    "host_id": 42,
    "id": 42,
    "initiated_by": "String",
    "is_cross_deployment_restore": True,
    "status": "String",
    "time_completed": 42,
    "time_initiated": 42,
}
_BACKUP = _sample(_BACKUP_OBJECT)
_RESTORE = _sample(_RESTORE_OBJECT)
_RESTORE_DTO = "A result RestoreDTO."
_STATUS_SAMPLE = '{\n  "status": "SUCCESS"\n}'

#: The pages, by "METHOD path" (the path relative to /api, as the route table writes it).
PAGES: dict[str, Page] = {
    "GET /backup_and_restore/backups": Page(
        "Retrieves a list of backups.",
        (_RANGE, _FIELDS_QUERY, _SORT, _FILTER),
        response_description="An array of backup objects. Backup objects contain the following "
        "fields:\n" + _BACKUP_FIELDS.rstrip("\n"),
        response_sample=_sample([_BACKUP_OBJECT]),
        later=(
            (
                V26,
                "An array of backup objects. Backup objects contain the following "
                "fields:\n" + _BACKUP_FIELDS + _APP_DEPLOYMENT_LOCATION.rstrip("\n"),
                _sample([{**_BACKUP_OBJECT, "app_deployment_location": "String"}]),
            ),
        ),
    ),
    "POST /backup_and_restore/backups": Page(
        "Submits a request to the Backup and Restore Engine to create a new backup.",
        (
            Parameter(
                "backup_type",
                Placement.HEADER,
                "String",
                True,
                "Required. The desired type of backup (CONFIG or DATA).",
            ),
            _FIELDS_HEADER,
            _body(
                "backup",
                "Required. A single backup object has the following modifiable fields:\n"
                "  • name - Required - String - The name of the backup.\n"
                "  • configuration_id - Required - Long - The ID of the configuration. Must be the "
                "ID of a deployed backup configuration. For more information, see the following "
                "Backup Configuration API:\n"
                "    • api/config/backup_and_restore/scheduled_backup_configurations\n"
                "  • description - Optional - String - An optional description for the backup.\n"
                "  • host_id - Optional - Long - The host that corresponds with the backup "
                "(defaults to the Console).\n"
                "Any other set fields will be ignored.",
                '{\n  "name": "nightly",\n  "description": "nightly_backup",\n'
                '  "configuration_id": 1\n}',
            ),
        ),
        note="On a successful post to this endpoint a backup object will be created in the "
        "INITIALIZING state. However, the backup file will not be created until the request has "
        "be completed by the Backup and Restore Engine. To check the status of a backup please "
        "use the following endpoint: /api/backup_and_restore/backups/{id}",
        response_description="The created backup object containing the following fields:\n"
        + _BACKUP_FIELDS.rstrip("\n"),
        response_sample=_BACKUP,
    ),
    "GET /backup_and_restore/backups/{id}": Page(
        "Retrieves an individual backup by ID.",
        (_id("Required. The ID of the backup to retrieve."), _FIELDS_QUERY),
        response_description="A backup object. The backup object contains the following "
        "fields:\n" + _BACKUP_FIELDS.rstrip("\n"),
        response_sample=_BACKUP,
    ),
    "POST /backup_and_restore/backups/{id}": Page(
        "Updates an existing backup.",
        (
            _id("Required. The ID of the backup to update."),
            _FIELDS_HEADER,
            _body(
                "backup",
                "Required. A single backup object has the following modifiable fields:\n"
                "  • description - String - An optional description of the backup.\n"
                "Any other set fields will be ignored.",
                '{\n  "description": "nightly_backup"\n}',
            ),
        ),
        note="Only the backup description field is modifiable. Any other set fields will be "
        "ignored.",
        response_description="The updated backup object containing the following fields:\n"
        + _BACKUP_FIELDS.rstrip("\n"),
        response_sample=_BACKUP,
    ),
    "DELETE /backup_and_restore/backups/{id}": Page(
        "Sends a request to the Backup and Restore Engine to delete an existing backup.",
        (_id("Required. The ID of the backup to delete."), _FIELDS_QUERY),
        note="Backups can be deleted only in the following states: INITIALIZING, IN_PROGRESS, "
        "FAILED, SUCCESS, MISSING. Deleting a backup that is INITIALIZING or IN_PROGRESS will "
        "cancel the backup.",
        response_sample=_BACKUP,
    ),
    "GET /backup_and_restore/restores": Page(
        "Retrieves a list of restores.",
        (_RANGE, _FIELDS_QUERY, _SORT, _FILTER),
        response_description="An array of restore objects. Restore objects contain the "
        "following fields:\n" + _RESTORE_FIELDS,
        response_sample=_sample([_RESTORE_OBJECT]),
    ),
    "POST /backup_and_restore/restores": Page(
        "Creates a restore object in the PENDING state.",
        (
            _FIELDS_HEADER,
            _body(
                "restore",
                "Required. A single restore object has the following modifiable fields:\n"
                "  • groups - Required - Array of Enumeration - The set of groups that are "
                "included with the restore. These groups contain a subset of the following "
                "values: CUSTOM_RULES_CONFIG, DEPLOYMENT_CONFIG, USERS_CONFIG, LICENSE_CONFIG, "
                "QVM_CONFIG, INSTALLED_APPS_CONFIG, REPORT_TEMPLATES, ASSETS_DATA, "
                "OFFENSES_DATA.\n"
                "  • backup_id - Required - Long - The ID of the backup to restore.\n"
                "Any other set fields will be ignored.",
                '{\n  "backup_id": 42,\n  "groups": [\n    "CUSTOM_RULES_CONFIG",\n'
                '    "DEPLOYMENT_CONFIG", \n    "USERS_CONFIG",\n    "LICENSE_CONFIG",\n'
                '    "QVM_CONFIG", \n    "INSTALLED_APPS_CONFIG", \n    "ASSETS_DATA", \n'
                '    "OFFENSES_DATA"\n  ]\n}',
            ),
        ),
        note="Only a single restore record can be created at a time and all other existing "
        "restores must be in a completed state. A completed restore has the status of SUCCESS or "
        "FAILED.",
        response_description="The created restore object containing the following fields:\n"
        + _RESTORE_FIELDS,
        response_sample=_RESTORE,
    ),
    "GET /backup_and_restore/restores/{id}": Page(
        "Retrieves an individual restore by ID.",
        (_id("Required. The ID of the restore to retrieve."), _FIELDS_QUERY),
        response_description="A restore object. The restore object contains the following "
        "fields:\n" + _RESTORE_FIELDS,
        response_sample=_RESTORE,
    ),
    "POST /backup_and_restore/restores/{id}": Page(
        "Updates an existing restore by ID.",
        (
            _id(NULL_TEXT),
            _FIELDS_HEADER,
            _body(
                "restore",
                "Required. A single restore object has the following modifiable fields:\n"
                "  • status - Enumeration - The status of the Restore. Can only be updated to "
                "REQUESTING. Once the status is set to REQUESTING this will submit a request to "
                "the Backup and Restore Engine to initialize this as a new Restore.\n"
                "Any other set fields will be ignored.",
                _STATUS_SAMPLE,
            ),
        ),
        note="Only the restore status field is modifiable. Any other set fields will be ignored. "
        "Only restores that are in the PENDING state are updated. The status of the restore can "
        "only be updated to REQUESTING. After the status is set to REQUESTING, a request is sent "
        "to the Backup and Restore Engine to initialize as a new restore.",
        important="All services stop until the restore is completed.",
        response_description="The created restore object containing the following fields:\n"
        + _RESTORE_FIELDS,
        response_sample=_RESTORE,
    ),
    "DELETE /backup_and_restore/restores/{id}": Page(
        "Deletes an individual restore by ID.",
        (_id("Required. The ID of the restore to delete."),),
        note="Restores can be deleted only in the following states: PENDING, REQUESTING, "
        "INITIALIZING, IN_PROGRESS. Deleting a restore record that is INITIALIZING or "
        "IN_PROGRESS will not cancel the restore.",
    ),
    "GET /backup_and_restore/haAction/{flag}": Page(
        "Done an individual HA Action as per passing flag.",
        (
            Parameter(
                "flag",
                Placement.PATH,
                "String",
                True,
                "Required. The Action for the HA will be perform as per flag.",
            ),
            _FIELDS_QUERY,
        ),
        response_description=_RESTORE_DTO,
        response_sample=_RESTORE,
    ),
    "POST /backup_and_restore/updateiptablesprefile": Page(
        "Done an individual HA Action as per passing flag.",
        (_FIELDS_HEADER, _body("restore", NULL_TEXT, _STATUS_SAMPLE)),
        response_description=_RESTORE_DTO,
        response_sample=_RESTORE,
    ),
}
