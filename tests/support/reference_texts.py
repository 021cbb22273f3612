"""The expected texts of the backup_and_restore error codes, written out once for every test layer.

`DESCRIPTIONS` holds the documented `description` of each (endpoint, unique code), copied by hand
from the reference (shared/reference/qradar-backup-restore-api.md, sections 2-4 and the table
in 4.2), never read from `engine.core.codes`: the code tests compare the catalogue's wording with
these. `LATER` holds the descriptions a later API version changed; `description()` picks the text
of a version.

The messages below are the specific `message` sentences of the provocations of
tests/support/code_cases.py, which the HTTP and the embedded-API tests both run. The reference
documents no exact messages (its section 6): these are the simulator's own, fixed here once.
"""

from __future__ import annotations

from engine.core.endpoints import EndpointId
from engine.core.versions import ApiVersion

E = EndpointId
V = ApiVersion.parse

Key = tuple[EndpointId, int]

# --- descriptions shared by several (endpoint, code) pairs ---

BACKUP_MISSING = "The backup does not exist."
RESTORE_MISSING = "The restore does not exist."
DESCRIPTION_TOO_LONG = "The 'description' parameter value must not exceed 255 characters."
RESTORE_RUNNING = (
    "A restore is currently in progress. No new backup or restore processes can be initiated "
    "while the current process is running."
)
#: 1009 on POST /restores before 18.0; `LATER` has the 18.0 text.
GROUPS_1009_BEFORE_18 = (
    "The DEPLOYMENT_CONFIG group must be included with the INSTALLED_APPS_CONFIG group."
)
GROUPS_1009_FROM_18 = (
    "The DEPLOYMENT_CONFIG group must be included with the INSTALLED_APPS_CONFIG or "
    "OFFENSES_DATA group."
)

#: What the 500/1000 description of each endpoint says it attempted.
ACTIONS_1000 = {
    E.BACKUPS_LIST: "retrieve the backups", E.BACKUP_CREATE: "create the backup",
    E.BACKUP_GET: "retrieve the backup", E.BACKUP_UPDATE: "update the backup",
    E.BACKUP_DELETE: "delete the backup", E.RESTORES_LIST: "retrieve the restores",
    E.RESTORE_CREATE: "create the restore", E.RESTORE_GET: "retrieve the restore",
    E.RESTORE_UPDATE: "update the restore", E.RESTORE_DELETE: "delete the restore",
    E.HA_ACTION: "retrieve the restore", E.IPTABLES_UPDATE: "retrieve the restore",
}  # fmt: skip

#: The documented description of every (endpoint, unique code), as of the oldest version that
#: has it; None where the reference publishes `null` (1034-1037).
DESCRIPTIONS: dict[Key, str | None] = {
    # GET /backups
    (E.BACKUPS_LIST, 1018): (
        "The Sort field must be one of the following fields: [id, host_id, name, description, "
        "type, version, time_initiated, time_completed, initiated_by, status, size_on_disk, "
        "content_file_path]."
    ),
    (E.BACKUPS_LIST, 1021): "An error occurred during the attempt to retrieve the backups.",
    # POST /backups
    (E.BACKUP_CREATE, 1002): "The 'name' parameter value cannot be null or empty.",
    (E.BACKUP_CREATE, 1003): "The 'name' parameter value must not exceed 100 characters.",
    (E.BACKUP_CREATE, 1004): (
        "The 'name' parameter must contain only alphanumerics and '_', '-' or '.'."
    ),
    (E.BACKUP_CREATE, 1005): "The 'name' parameter value must be unique.",
    (E.BACKUP_CREATE, 1006): "The 'configuration_id' parameter value cannot be null or empty.",
    (E.BACKUP_CREATE, 1007): "The backup configuration does not exist.",
    (E.BACKUP_CREATE, 1008): DESCRIPTION_TOO_LONG,
    (E.BACKUP_CREATE, 1009): "The backup host does not exist.",
    (E.BACKUP_CREATE, 1010): (
        "The provided host_id corresponds to a host that is currently not active. For more "
        "information, see the following Hosts API: api/config/deployment/hosts"
    ),
    (E.BACKUP_CREATE, 1011): (
        "An undeployed configuration change has been detected. Deploy staged changes then try "
        "again."
    ),
    (E.BACKUP_CREATE, 1012): (
        "The provided host_id corresponds to a host that is not the console and the backup "
        "type is CONFIG. A config backup can only take place on the console."
    ),
    (E.BACKUP_CREATE, 1013): (
        "Data backups can only be done on hosts that store ariel data. For more information, "
        "see the following Hosts API: api/config/deployment/hosts"
    ),
    (E.BACKUP_CREATE, 1014): (
        "The host is not configured for data backups. See the Backup Configuration API for "
        "more information: api/config/backup_and_restore/scheduled_backup_configurations"
    ),
    (E.BACKUP_CREATE, 1015): "A backup is already in progress on the host.",
    (E.BACKUP_CREATE, 1016): RESTORE_RUNNING,
    # GET, POST, DELETE /backups/{id}
    (E.BACKUP_GET, 1001): BACKUP_MISSING,
    (E.BACKUP_UPDATE, 1001): BACKUP_MISSING,
    (E.BACKUP_UPDATE, 1008): DESCRIPTION_TOO_LONG,
    (E.BACKUP_DELETE, 1001): BACKUP_MISSING,
    (E.BACKUP_DELETE, 1017): (
        "Backups can be deleted only in the following states: INITIALIZING, IN_PROGRESS, "
        "FAILED, SUCCESS, MISSING."
    ),
    # GET /restores
    (E.RESTORES_LIST, 1018): (
        "The sort field must be one of the following fields: [id, initiated_by, "
        "time_initiated, time_completed, is_cross_deployment_restore, backup_name, "
        "backup_type, backup_version, backup_filename]."
    ),
    # POST /restores
    (E.RESTORE_CREATE, 1002): "The 'backup_id' parameter value cannot be null or empty.",
    (E.RESTORE_CREATE, 1003): "The backup does not exist.",
    (E.RESTORE_CREATE, 1004): "The backup type must be config.",
    (E.RESTORE_CREATE, 1005): "The backup status must be successful.",
    (E.RESTORE_CREATE, 1006): "The backup must be valid.",
    (E.RESTORE_CREATE, 1007): "The backup must be compatible.",
    (E.RESTORE_CREATE, 1008): "The 'groups' parameter value cannot be null or empty.",
    (E.RESTORE_CREATE, 1009): GROUPS_1009_BEFORE_18,
    (E.RESTORE_CREATE, 1010): "A group was provided that does not exist.",
    (E.RESTORE_CREATE, 1011): (
        "A restore is currently pending or in progress. Only a single restore record can be "
        "created at a time and all other existing restores must be in a completed state. A "
        "completed restore has the status of SUCCESS or FAILED."
    ),
    (E.RESTORE_CREATE, 1019): (
        '"The ASSETS_DATA and USERS_CONFIG groups must be included with DOMAINS group."'
    ),
    # GET, POST, DELETE /restores/{id}
    (E.RESTORE_GET, 1001): RESTORE_MISSING,
    (E.RESTORE_UPDATE, 1001): RESTORE_MISSING,
    (E.RESTORE_UPDATE, 1012): "Only restores that are in the PENDING state are updated.",
    (E.RESTORE_UPDATE, 1013): "The 'status' parameter value can only be updated to REQUESTING.",
    (E.RESTORE_UPDATE, 1014): (
        "Rebalancing is currently in progress. No restore process can be initiated."
    ),
    (E.RESTORE_UPDATE, 1015): (
        "A backup is currently in progress. No new backup or restore processes can be "
        "initiated while the current process is running."
    ),
    (E.RESTORE_UPDATE, 1016): RESTORE_RUNNING,
    (E.RESTORE_UPDATE, 1030): "The restore_site_host_id must have a qflow component.",
    (E.RESTORE_UPDATE, 1031): "The restore_site_host_id must be a valid host ID.",
    (E.RESTORE_UPDATE, 1032): (
        "The restore_site_event_collector_id is not an event collector component."
    ),
    (E.RESTORE_UPDATE, 1033): "The restore_site_event_collector_id does not exist.",
    (E.RESTORE_UPDATE, 1034): None,
    (E.RESTORE_UPDATE, 1035): None,
    (E.RESTORE_UPDATE, 1036): None,
    (E.RESTORE_UPDATE, 1037): None,
    (E.RESTORE_DELETE, 1001): RESTORE_MISSING,
    (E.RESTORE_DELETE, 1017): (
        "Restores can be deleted only in the following states: PENDING, REQUESTING, "
        "INITIALIZING, IN_PROGRESS."
    ),
    # the 21.0 HA helpers
    (E.HA_ACTION, 1001): RESTORE_MISSING,
    (E.IPTABLES_UPDATE, 1001): RESTORE_MISSING,
    # 500/1000 on all twelve
    **{
        (ep, 1000): f"An error occurred during the attempt to {a}."
        for ep, a in ACTIONS_1000.items()
    },
}

#: Descriptions a later version changed: (first version, text from then on), oldest first.
LATER: dict[Key, tuple[tuple[ApiVersion, str], ...]] = {
    (E.RESTORE_CREATE, 1009): ((V("18.0"), GROUPS_1009_FROM_18),),
}


def description(endpoint: EndpointId, code: int, version: ApiVersion) -> str | None:
    """The documented description of the code on the endpoint, in that API version."""
    chosen = DESCRIPTIONS[endpoint, code]
    for first, text in LATER.get((endpoint, code), ()):
        if version >= first:
            chosen = text
    return chosen


# --- messages of the provocations both layers share (the simulator's own wording) ---

NO_BACKUP_999 = "The backup 999 does not exist."  # POST /restores with backup_id 999
NO_BACKUP_WITH_ID_999 = "The backup with id 999 does not exist."
NO_RESTORE_WITH_ID_999 = "The restore with id 999 does not exist."
NO_CONFIGURATION_99 = "The backup configuration 99 does not exist."
NO_HOST_999 = "The backup host 999 does not exist."
NAME_NIGHTLY_1_TAKEN = "A backup named nightly_1 already exists."
HOST_53_BUSY = "A backup is already in progress on the host 53."
RESTORE_1_NOT_PENDING = "The restore 1 is REQUESTING, not PENDING."
RESTORE_1_SUCCESS_UNDELETABLE = "The restore 1 is SUCCESS and cannot be deleted."
BACKUP_1_DELETING_UNDELETABLE = "The backup 1 is DELETING and cannot be deleted."


# --- IBM's page of POST /backup_and_restore/restores/{id} (shared/seeds/, 15.0-20.0) ---
# Copied by hand from the seed page; the help endpoints must print these words.

SEED_RU_SUMMARY = "Updates an existing restore by ID."
SEED_RU_IMPORTANT = "Important: All services stop until the restore is completed."
SEED_FIELDS_DESCRIPTION = (
    "Optional - Use this parameter to specify which fields you would like to get back in the "
    "response. Fields that are not named are excluded. Specify subfields in brackets and "
    "multiple fields in the same object are separated by commas."
)
SEED_RU_BODY_DESCRIPTION = (
    "Required. A single restore object has the following modifiable fields:\n"
    "  • status - Enumeration - The status of the Restore. Can only be updated to REQUESTING. "
    "Once the status is set to REQUESTING this will submit a request to the Backup and Restore "
    "Engine to initialize this as a new Restore.\n"
    "Any other set fields will be ignored."
)
SEED_RU_BODY_SAMPLE = {"status": "SUCCESS"}
SEED_RU_RESPONSE_FIRST_LINES = (
    "The created restore object containing the following fields:\n"
    "  • id - Long - The ID of the restore.\n"
    "  • initiated_by - String - The user or authorized service that initiated the restore.\n"
    "  • host_id - Long - The host that was restored. For more information, see the following "
    "Hosts API:\n"
    "    • api/config/deployment/hosts\n"
)
SEED_RU_RESPONSE_LAST_LINE = (
    "    • OFFENSES_DATA: Restores offenses. All offenses will be restored as closed."
)
SEED_RU_RESPONSE_SAMPLE = {
    "backup_filename": "String", "backup_id": 42, "backup_name": "String",
    "backup_type": "String", "backup_version": "String", "groups": ["String"], "host_id": 42,
    "id": 42, "initiated_by": "String", "is_cross_deployment_restore": True,
    "status": "String", "time_completed": 42, "time_initiated": 42,
}  # fmt: skip
