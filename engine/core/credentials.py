"""Who may call a console: a credential and how a presented secret is compared.

The domain's type: the API authenticates with it, the control surface creates it, the store
keeps it (looked up by the digest of its secret, `engine.store.base.secret_digest`).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Credential:
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
