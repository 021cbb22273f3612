"""The SQLite schema, versioned: each migration moves the database one version forward.

Indexes serve the paths that run per request: a record by (console, id), the list of a
console ordered by id, the gate (running jobs of a console), the worker (due jobs) and backup
name uniqueness.
"""

from __future__ import annotations

import contextlib
import sqlite3

from engine.store.base import secret_digest

MIGRATIONS: tuple[str, ...] = (
    # 1: consoles, credentials, the world, restores, backups
    """
    CREATE TABLE consoles (
        id TEXT PRIMARY KEY,
        rebalancing INTEGER NOT NULL DEFAULT 0,
        settings TEXT NOT NULL DEFAULT '{}',
        revision INTEGER NOT NULL DEFAULT 0,
        next_restore_id INTEGER NOT NULL DEFAULT 1,
        next_backup_id INTEGER NOT NULL DEFAULT 1,
        restore_ordinal INTEGER NOT NULL DEFAULT 0,
        backup_ordinal INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE credentials (
        secret TEXT NOT NULL,
        basic INTEGER NOT NULL,
        console TEXT NOT NULL REFERENCES consoles(id) ON DELETE CASCADE,
        admin INTEGER NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (secret, basic)
    );
    CREATE TABLE hosts (
        console TEXT NOT NULL REFERENCES consoles(id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        hostname TEXT NOT NULL, private_ip TEXT NOT NULL, is_console INTEGER NOT NULL,
        active INTEGER NOT NULL, components TEXT NOT NULL, ariel_data INTEGER NOT NULL,
        version TEXT NOT NULL,
        PRIMARY KEY (console, id)
    ) WITHOUT ROWID;
    CREATE TABLE configurations (
        console TEXT NOT NULL REFERENCES consoles(id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (console, id)
    ) WITHOUT ROWID;
    CREATE TABLE restores (
        console TEXT NOT NULL REFERENCES consoles(id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        initiated_by TEXT NOT NULL, host_id INTEGER NOT NULL,
        time_initiated INTEGER, time_completed INTEGER,
        status TEXT NOT NULL, is_cross_deployment_restore INTEGER NOT NULL,
        backup_id INTEGER, backup_name TEXT NOT NULL, backup_version TEXT NOT NULL,
        backup_type TEXT NOT NULL, backup_filename TEXT NOT NULL, groups_ TEXT NOT NULL,
        visible INTEGER NOT NULL, origin TEXT NOT NULL, due_at INTEGER, outcome TEXT,
        rule TEXT, ordinal INTEGER, phase_since INTEGER,
        PRIMARY KEY (console, id)
    ) WITHOUT ROWID;
    CREATE INDEX restores_running ON restores (console, status);
    CREATE INDEX restores_due ON restores (console, due_at) WHERE due_at IS NOT NULL;
    CREATE TABLE backups (
        console TEXT NOT NULL REFERENCES consoles(id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        configuration_id INTEGER NOT NULL, host_id INTEGER NOT NULL, name TEXT NOT NULL,
        description TEXT, type TEXT NOT NULL, version TEXT NOT NULL,
        time_initiated INTEGER, time_completed INTEGER, initiated_by TEXT NOT NULL,
        status TEXT NOT NULL, size_on_disk INTEGER NOT NULL, content_file_path TEXT NOT NULL,
        is_valid INTEGER NOT NULL, is_version_compatible INTEGER NOT NULL,
        app_deployment_location TEXT NOT NULL, build_version TEXT NOT NULL,
        visible INTEGER NOT NULL, origin TEXT NOT NULL, due_at INTEGER, outcome TEXT,
        rule TEXT, ordinal INTEGER, phase_since INTEGER,
        PRIMARY KEY (console, id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX backups_name ON backups (console, name);
    CREATE INDEX backups_running ON backups (console, status);
    CREATE INDEX backups_due ON backups (console, due_at) WHERE due_at IS NOT NULL;
    """,
    # 2: a row the store rewrites to find out whether writes succeed again after a storage
    # fault (disk full, I/O error): health recovers even when nothing else writes
    """
    CREATE TABLE probe (id INTEGER PRIMARY KEY CHECK (id = 1), at_ms INTEGER NOT NULL);
    """,
    # 3: credentials looked up by the digest of their secret (`engine.store.base.secret_digest`),
    # then compared in constant time; the console's index serves listing and deleting
    """
    CREATE TABLE credentials_by_digest (
        digest TEXT NOT NULL,
        basic INTEGER NOT NULL,
        secret TEXT NOT NULL,
        console TEXT NOT NULL REFERENCES consoles(id) ON DELETE CASCADE,
        admin INTEGER NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (digest, basic)
    ) WITHOUT ROWID;
    INSERT INTO credentials_by_digest (digest, basic, secret, console, admin, name)
        SELECT secret_digest(secret), basic, secret, console, admin, name FROM credentials;
    DROP TABLE credentials;
    ALTER TABLE credentials_by_digest RENAME TO credentials;
    CREATE INDEX credentials_console ON credentials (console);
    """,
    # 4: how many visible records each console has, kept by triggers (so in every process
    # sharing the file): the total of an unfiltered list without counting rows. The triggers
    # fire on inserts, deletes and changes of visibility only, not on every transition
    """
    CREATE TABLE list_counts (
        console TEXT NOT NULL,
        kind TEXT NOT NULL,
        visible INTEGER NOT NULL,
        PRIMARY KEY (console, kind)
    ) WITHOUT ROWID;
    INSERT INTO list_counts (console, kind, visible)
        SELECT console, 'restore', count(*) FROM restores WHERE visible = 1 GROUP BY console;
    INSERT INTO list_counts (console, kind, visible)
        SELECT console, 'backup', count(*) FROM backups WHERE visible = 1 GROUP BY console;
    """
    + "".join(
        f"""
    CREATE TRIGGER {table}_counted_insert AFTER INSERT ON {table} WHEN new.visible = 1 BEGIN
        INSERT INTO list_counts (console, kind, visible) VALUES (new.console, '{kind}', 1)
            ON CONFLICT (console, kind) DO UPDATE SET visible = visible + 1;
    END;
    CREATE TRIGGER {table}_counted_delete AFTER DELETE ON {table} WHEN old.visible = 1 BEGIN
        UPDATE list_counts SET visible = visible - 1
            WHERE console = old.console AND kind = '{kind}';
    END;
    CREATE TRIGGER {table}_counted_update AFTER UPDATE OF visible ON {table}
    WHEN old.visible != new.visible BEGIN
        INSERT INTO list_counts (console, kind, visible)
            VALUES (new.console, '{kind}', new.visible - old.visible)
            ON CONFLICT (console, kind) DO UPDATE SET visible = visible + excluded.visible;
    END;
    """
        for table, kind in (("restores", "restore"), ("backups", "backup"))
    ),
)

VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer simulator."""


def _statements(script: str) -> list[str]:
    """The statements of a script (a trigger's body holds semicolons of its own)."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending)
            pending = ""
    return statements


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to VERSION; returns the version found before. Runs in one transaction."""
    conn.create_function("secret_digest", 1, secret_digest, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        if found > VERSION:
            raise SchemaTooNew(
                f"the database has schema version {found}; this simulator knows up to {VERSION}"
            )
        for script in MIGRATIONS[found:]:
            for statement in _statements(script):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # the error that ended it is the one to report
                conn.execute("ROLLBACK")
        raise
    return int(found)
