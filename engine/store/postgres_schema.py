"""The PostgreSQL schema, versioned like the SQLite one: each migration moves one version forward.

The tables and columns are the SQLite schema's (`engine.store.schema`), so that a row maps to
the domain in one place; what differs is PostgreSQL's: BIGINT for milliseconds, the version in
a table of its own (there is no `user_version`), and the migration serialised between processes
starting together by a transaction-scoped advisory lock.
"""

from __future__ import annotations

from typing import Any

import psycopg

MIGRATIONS: tuple[str, ...] = (
    # 1: consoles, credentials (by the digest of their secret), the world, restores, backups,
    # and the row the store rewrites to find out whether writes succeed again after a fault
    """
    CREATE TABLE consoles (
        id TEXT PRIMARY KEY,
        rebalancing SMALLINT NOT NULL DEFAULT 0,
        settings TEXT NOT NULL DEFAULT '{}',
        revision BIGINT NOT NULL DEFAULT 0,
        next_restore_id BIGINT NOT NULL DEFAULT 1,
        next_backup_id BIGINT NOT NULL DEFAULT 1,
        restore_ordinal BIGINT NOT NULL DEFAULT 0,
        backup_ordinal BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE credentials (
        digest TEXT NOT NULL,
        basic SMALLINT NOT NULL,
        secret TEXT NOT NULL,
        console TEXT NOT NULL REFERENCES consoles(id) ON DELETE CASCADE,
        admin SMALLINT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (digest, basic)
    );
    CREATE INDEX credentials_console ON credentials (console);
    CREATE TABLE hosts (
        console TEXT NOT NULL REFERENCES consoles(id) ON DELETE CASCADE,
        id BIGINT NOT NULL,
        hostname TEXT NOT NULL, private_ip TEXT NOT NULL, is_console SMALLINT NOT NULL,
        active SMALLINT NOT NULL, components TEXT NOT NULL, ariel_data SMALLINT NOT NULL,
        version TEXT NOT NULL,
        PRIMARY KEY (console, id)
    );
    CREATE TABLE configurations (
        console TEXT NOT NULL REFERENCES consoles(id) ON DELETE CASCADE,
        id BIGINT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (console, id)
    );
    CREATE TABLE restores (
        console TEXT NOT NULL REFERENCES consoles(id) ON DELETE CASCADE,
        id BIGINT NOT NULL,
        initiated_by TEXT NOT NULL, host_id BIGINT NOT NULL,
        time_initiated BIGINT, time_completed BIGINT,
        status TEXT NOT NULL, is_cross_deployment_restore SMALLINT NOT NULL,
        backup_id BIGINT, backup_name TEXT NOT NULL, backup_version TEXT NOT NULL,
        backup_type TEXT NOT NULL, backup_filename TEXT NOT NULL, groups_ TEXT NOT NULL,
        visible SMALLINT NOT NULL, origin TEXT NOT NULL, due_at BIGINT, outcome TEXT,
        rule TEXT, ordinal BIGINT, phase_since BIGINT,
        PRIMARY KEY (console, id)
    );
    CREATE INDEX restores_running ON restores (console, status);
    CREATE INDEX restores_due ON restores (console, due_at) WHERE due_at IS NOT NULL;
    CREATE TABLE backups (
        console TEXT NOT NULL REFERENCES consoles(id) ON DELETE CASCADE,
        id BIGINT NOT NULL,
        configuration_id BIGINT NOT NULL, host_id BIGINT NOT NULL, name TEXT NOT NULL,
        description TEXT, type TEXT NOT NULL, version TEXT NOT NULL,
        time_initiated BIGINT, time_completed BIGINT, initiated_by TEXT NOT NULL,
        status TEXT NOT NULL, size_on_disk BIGINT NOT NULL, content_file_path TEXT NOT NULL,
        is_valid SMALLINT NOT NULL, is_version_compatible SMALLINT NOT NULL,
        app_deployment_location TEXT NOT NULL, build_version TEXT NOT NULL,
        visible SMALLINT NOT NULL, origin TEXT NOT NULL, due_at BIGINT, outcome TEXT,
        rule TEXT, ordinal BIGINT, phase_since BIGINT,
        PRIMARY KEY (console, id)
    );
    CREATE UNIQUE INDEX backups_name ON backups (console, name);
    CREATE INDEX backups_running ON backups (console, status);
    CREATE INDEX backups_due ON backups (console, due_at) WHERE due_at IS NOT NULL;
    CREATE TABLE probe (id INTEGER PRIMARY KEY CHECK (id = 1), at_ms BIGINT NOT NULL);
    """,
    # 2: the virtual clock of each console, shared by every process on the database
    """
    CREATE TABLE clocks (
        console TEXT PRIMARY KEY REFERENCES consoles(id) ON DELETE CASCADE,
        now_ms BIGINT NOT NULL
    );
    """,
)

VERSION = len(MIGRATIONS)
#: the advisory lock that serialises migrations (any constant the simulator alone uses)
_MIGRATION_LOCK = 0x62726573696D  # "bresim"


class SchemaTooNew(RuntimeError):
    """The database was written by a newer simulator."""


def migrate(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """Bring the schema to VERSION in one transaction; returns the version found before.
    Processes starting together on a new database wait for each other's migration."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        found = int(row[0]) if row is not None and row[0] is not None else 0
        if found > VERSION:
            raise SchemaTooNew(
                f"the database has schema version {found}; this simulator knows up to {VERSION}"
            )
        for script in MIGRATIONS[found:]:
            conn.execute(script)  # several statements: no parameters, the simple protocol
        if found < VERSION:
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version VALUES (%s)", (VERSION,))
    return found
