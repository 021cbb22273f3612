"""QRadar's enumerations for the backup_and_restore family, spelled as the API spells them."""

from __future__ import annotations

from enum import StrEnum


class RestoreStatus(StrEnum):
    """The `status` of a restore record (reference section 3.1)."""

    PENDING = "PENDING"  #: created, not submitted; the only state a client may change
    REQUESTING = "REQUESTING"  #: submitted by the client; the engine has not picked it up yet
    INITIALIZING = "INITIALIZING"  #: the engine received the request
    IN_PROGRESS = "IN_PROGRESS"  #: the restore is running; all services are stopped
    SUCCESS = "SUCCESS"  #: finished without errors; permanent
    FAILED = "FAILED"  #: finished with errors; permanent


class BackupStatus(StrEnum):
    """The `status` of a backup record (reference section 2.1)."""

    INITIALIZING = "INITIALIZING"  #: record created, request sent to the engine
    IN_PROGRESS = "IN_PROGRESS"  #: the engine is writing the backup
    FAILED = "FAILED"  #: finished with errors
    SUCCESS = "SUCCESS"  #: finished; restorable when CONFIG, valid and compatible
    CANCELLING = "CANCELLING"  #: deleted while running; the engine is stopping it
    DELETING = "DELETING"  #: deleted when finished; the engine is removing record and file
    MISSING = "MISSING"  #: the file vanished outside the engine's control


class BackupType(StrEnum):
    """A backup's `type`, chosen by the `backup_type` header on create."""

    CONFIG = "CONFIG"  #: configuration; the only type a restore accepts
    DATA = "DATA"  #: Ariel event and flow data of one host


class RestoreGroup(StrEnum):
    """The content groups a restore can include (reference section 3.1)."""

    CUSTOM_RULES_CONFIG = "CUSTOM_RULES_CONFIG"  #: custom rules, reference data, saved searches
    DEPLOYMENT_CONFIG = "DEPLOYMENT_CONFIG"  #: deployment model and settings, including domains
    USERS_CONFIG = "USERS_CONFIG"  #: users, authorized services, roles, profiles, dashboards
    LICENSE_CONFIG = "LICENSE_CONFIG"  #: undocumented ("NEEDS DESCRIPTION")
    QVM_CONFIG = "QVM_CONFIG"  #: undocumented ("NEEDS DESCRIPTION")
    INSTALLED_APPS_CONFIG = "INSTALLED_APPS_CONFIG"  #: installed applications
    REPORT_TEMPLATES = "REPORT_TEMPLATES"  #: report templates
    ASSETS_DATA = "ASSETS_DATA"  #: the asset model
    OFFENSES_DATA = "OFFENSES_DATA"  #: offenses; they come back closed


class AppDeploymentLocation(StrEnum):
    """Where a backup's apps were deployed (26.0+, list endpoint only)."""

    CONSOLE = "CONSOLE"
    APPHOST = "APPHOST"
    NA = "NA"  #: a DATA backup


class JobKind(StrEnum):
    """The kinds of engine job; each has its own lifecycle table and progression rule."""

    RESTORE = "restore"
    BACKUP = "backup"


class Origin(StrEnum):
    """Who started a job: a client of the REST API or the console's own UI (out of band)."""

    API = "api"
    EXTERNAL = "external"
