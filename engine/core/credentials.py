"""Who may call a console: a credential and how a presented secret is compared.

The domain's type: the API authenticates with it, the control surface creates it, the store
keeps it (looked up by the digest of its secret, `engine.store.base.secret_digest`).
"""

from __future__ import annotations

import hmac
import secrets

from engine.core.frozen import record


@record
class Credential:
    """A secret that opens one console's API: a SEC token or Basic credentials."""

    secret: str  # a SEC token, or "user:password" for Basic
    console: str
    admin: bool = True
    name: str = "admin"
    basic: bool = False


def same_secret(known: str, presented: str) -> bool:
    """Constant-time comparison of two secrets (any characters)."""
    return hmac.compare_digest(
        known.encode("utf-8", "surrogatepass"), presented.encode("utf-8", "surrogatepass")
    )


def new_secret() -> str:
    """A random credential (256 bits, URL-safe) that never begins with `-`: it is pasted after
    flags such as `--admin-token`, where argparse would take `-abc...` for another flag."""
    while True:
        secret = secrets.token_urlsafe(32)
        if not secret.startswith("-"):
            return secret
