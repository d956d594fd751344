"""`campusca serve --tls-cert F --tls-key F`: which files to hand uvicorn, checked before it starts.

Options win over the `tls_cert` / `tls_key` settings (CAMPUSCA_TLS_CERT, CAMPUSCA_TLS_KEY or
campusca.toml; relative setting paths are in the data directory). The pair is loaded once here so
that a wrong path, a key that does not match or an encrypted key is one line on stderr, not a
traceback from inside a uvicorn worker.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from campusca.cli._common import fail
from campusca.config import Settings


def _in_home(settings: Settings, path: Path | None) -> Path | None:
    if path is None or path.is_absolute():
        return path
    return settings.home / path


def tls_files(settings: Settings, cert: Path | None, key: Path | None) -> tuple[Path, Path] | None:
    """The certificate and key files to serve https with, or None for plain http."""
    cert = cert or _in_home(settings, settings.tls_cert)
    key = key or _in_home(settings, settings.tls_key)
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        fail("https needs both --tls-cert and --tls-key (or the tls_cert and tls_key settings)")
        return None
    for name, path in (("--tls-cert", cert), ("--tls-key", key)):
        if not path.is_file():
            fail(f"{name} {path} is not a readable file")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key, password=lambda: b"")
    except (ssl.SSLError, OSError) as error:
        reason = getattr(error, "reason", None) or str(error)
        fail(
            f"--tls-cert {cert} and --tls-key {key} are not a PEM certificate and its unencrypted key ({reason})"
        )
    return cert, key
