"""PostgreSQL for the tests: found through BRE_TEST_POSTGRES, a fresh database per test run.

The server is the one `BRE_TEST_POSTGRES` names (a URL; default the local server). Each pytest
run creates its own database with a random name and drops it at the end (several engineers and
CI share one server); each test gets a schema of its own in it (`search_path` in the URL), so
tests never see each other's consoles and creating one costs a few milliseconds. Without a
reachable server the PostgreSQL tests are skipped with the reason, unless `CI` is set: there
they fail, and `.ci/run` also checks that they ran.
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("BRE_TEST_POSTGRES") or DEFAULT_URL


def unreachable(url: str) -> str | None:
    """Why the server cannot be used (None: it can)."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"no PostgreSQL server at {url} (BRE_TEST_POSTGRES): {error}".strip()
    return None


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def with_schema(url: str, schema: str) -> str:
    """The URL whose connections use `schema` first (libpq's `options`)."""
    parts = urlsplit(url)
    option = urlencode({"options": f"-csearch_path={schema}"})
    query = f"{parts.query}&{option}" if parts.query else option
    return urlunsplit(parts._replace(query=query))


class Database:
    """A database of this test run: created on `create`, dropped (with its sessions) on `drop`."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.name = f"bre_test_{os.getpid()}_{secrets.token_hex(4)}"
        self.url = with_database(server, self.name)

    def create(self) -> Database:
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def schema(self) -> tuple[str, str]:
        """A new empty schema: its name and the URL that uses it."""
        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return name, with_schema(self.url, name)

    def drop_schema(self, name: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def empty_schema(self, name: str) -> None:
        """Every table of a schema the store made emptied, the schema kept (a test's schema
        handed to the next test: migrating a new one costs ten times as much)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s "
                    "AND tablename <> 'schema_version'",
                    (name,),
                )
            ]
            if tables:
                listed = ", ".join(f'"{name}"."{t}"' for t in tables)
                conn.execute(f"TRUNCATE {listed} CASCADE")
