"""End-entity certificates are revoked only for the reasons RFC 5280 and the CA/B Forum BRs allow."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.ca import CaHome, make_csr, serving

REFUSED = ["certificateHold", "cACompromise", "aACompromise", "removeFromCRL"]
ALLOWED = [
    "unspecified",
    "keyCompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "privilegeWithdrawn",
]


def _issue(ca: CaHome, tmp_path: Path, name: str) -> str:
    csr = tmp_path / f"{name}.csr"
    csr.write_bytes(make_csr(cn=name)[1])
    return str(
        ca.cli_json("cert", "issue", "--profile", "device", "--csr", str(csr), "--user", "alice")["serial"]
    )  # type: ignore[index]


def test_cli_refuses_reasons_not_allowed_for_end_entities(ca: CaHome, tmp_path: Path) -> None:
    serial = _issue(ca, tmp_path, "held")
    for reason in REFUSED:
        refused = ca.cli("cert", "revoke", serial, "--reason", reason, check=False)
        assert refused.returncode == 1, reason
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "not allowed for end-entity" in lines[0] or "must be one of" in lines[0]
    assert ca.cli_json("cert", "show", serial)["status"] == "valid"  # type: ignore[index]


@pytest.mark.parametrize(
    "reason", ["cACompromise", "certificate-hold"], ids=["fail-ca-compromise", "fail-hold"]
)
def test_cli_names_the_rule_for_a_refused_reason(ca: CaHome, tmp_path: Path, reason: str) -> None:
    serial = _issue(ca, tmp_path, "x")
    refused = ca.cli("cert", "revoke", serial, "--reason", reason, check=False)
    assert refused.returncode == 1
    assert "is not allowed for end-entity certificates" in refused.stderr
    assert (
        "keyCompromise" in refused.stderr and "certificateHold" not in refused.stderr.split("use one of")[1]
    )


def test_rest_accepts_the_allowed_reasons_and_refuses_the_others(ca: CaHome, tmp_path: Path) -> None:
    serials = [_issue(ca, tmp_path, f"cert-{i}") for i in range(len(ALLOWED))]
    token = ca.cli("token", "create", "--role", "ra-officer").stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    with serving(ca) as url:
        for reason in REFUSED:
            refused = httpx.post(
                f"{url}/api/v1/certificates/{serials[0]}/revoke", json={"reason": reason}, headers=headers
            )
            assert refused.status_code in (400, 422), refused.text
            assert refused.json()["code"] == "invalid_input" and "reason" in refused.json()["message"]
        for serial, reason in zip(serials, ALLOWED, strict=True):
            revoked = httpx.post(
                f"{url}/api/v1/certificates/{serial}/revoke", json={"reason": reason}, headers=headers
            )
            assert revoked.status_code == 200, revoked.text
            assert revoked.json()["revocation_reason"] == reason
