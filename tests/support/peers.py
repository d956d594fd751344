"""Real peers (openssl, gpgsm, scepclient, certmonger, slapd): skip locally, fail under CI.

A missing peer on a developer's laptop skips the test; with CI=true it fails, so CI can never go
green without the peer installed.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_peer(*commands: str) -> None:
    """Skip (or, under CI, fail) the calling test when a peer program is not installed."""
    missing = [c for c in commands if shutil.which(c) is None]
    if not missing:
        return
    message = f"peer program not installed: {', '.join(missing)}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
