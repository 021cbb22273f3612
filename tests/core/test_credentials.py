"""Credentials made by the simulator."""

from __future__ import annotations

import argparse

from engine.core.credentials import new_secret


def test_a_new_secret_is_never_taken_for_a_flag() -> None:
    """Regression: a random admin credential beginning with `-` (one in 64) was read by
    argparse as another flag after `--admin-token`, and the command failed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--admin-token")
    secrets = {new_secret() for _ in range(2000)}
    assert len(secrets) == 2000
    for secret in secrets:
        assert not secret.startswith("-")
        assert len(secret) >= 43  # 256 bits
        assert parser.parse_args(["--admin-token", secret]).admin_token == secret
