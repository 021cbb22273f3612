"""The engine gate: which operation may start, given what runs (reference sections 3.5, 5).

The gate is a fact about running jobs, not about records: a restore whose record was deleted
still holds it, and so does a restore started from the console's UI. The store evaluates these
rules inside the same transaction that records the start, so that two racing requests, in one
process or in two sharing a database file, can never both win.
"""

from __future__ import annotations

from engine.core.endpoints import EndpointId
from engine.core.errors import QRadarError
from engine.core.frozen import record

E = EndpointId


@record
class GateView:
    """What the gate needs to know about a console at one instant."""

    rebalancing: bool
    restore_running: bool
    backup_hosts: frozenset[int]


def check_restore_start(view: GateView) -> None:
    """POST /restores/{id} REQUESTING: 1014 rebalancing, 1015 a backup runs, 1016 a restore runs."""
    if view.rebalancing:
        raise QRadarError.at(E.RESTORE_UPDATE, 1014)
    if view.backup_hosts:
        raise QRadarError.at(E.RESTORE_UPDATE, 1015)
    if view.restore_running:
        raise QRadarError.at(E.RESTORE_UPDATE, 1016)


def check_backup_start(view: GateView, host_id: int) -> None:
    """POST /backups: 1015 a backup runs on that host, 1016 a restore runs."""
    if host_id in view.backup_hosts:
        raise QRadarError.at(E.BACKUP_CREATE, 1015, host_id=host_id)
    if view.restore_running:
        raise QRadarError.at(E.BACKUP_CREATE, 1016)


def check_restore_create(unfinished_record_exists: bool) -> None:
    """POST /restores: 1011 while another restore record is not SUCCESS or FAILED."""
    if unfinished_record_exists:
        raise QRadarError.at(E.RESTORE_CREATE, 1011)
