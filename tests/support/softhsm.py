"""A throw-away SoftHSM2 token for tests (Debian `softhsm2`)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


@dataclass(frozen=True)
class Token:
    conf: Path
    label: str
    pin: str
    module: str = SOFTHSM_MODULE

    def env(self) -> dict[str, str]:
        """Environment that points campusca (and SoftHSM itself) at this token."""
        return {
            "SOFTHSM2_CONF": str(self.conf),
            "CAMPUSCA_KEY_BACKEND": "pkcs11",
            "CAMPUSCA_PKCS11_MODULE": self.module,
            "CAMPUSCA_PKCS11_TOKEN_LABEL": self.label,
            "CAMPUSCA_PKCS11_PIN": self.pin,
        }


def make_token(directory: Path, *, label: str = "campusca", pin: str = "123456") -> Token:
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "so-" + pin],
        check=True,
        capture_output=True,
        env={"SOFTHSM2_CONF": str(conf), "PATH": "/usr/bin:/bin"},
    )
    return Token(conf=conf, label=label, pin=pin)
