"""The dedicated S/MIME CA beside the device/server issuing CA: issuance, OCSP for both, revoking a CA."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from campusca.config import load_settings
from campusca.pki.ocsp import CertStatus, parse_ocsp_request
from campusca.services import ca as ca_service
from campusca.services.authority import open_authority
from campusca.services.errors import NotAuthorized
from tests.support.ca import CaHome, make_csr

SMIME_POLICY = "2.23.140.1.5.1.3"


def _cas(ca: CaHome) -> dict[str, dict[str, object]]:
    return {c["slug"]: c for c in ca.cli_json("ca", "list")}  # type: ignore[union-attr, index]


def _pem(ca: CaHome, slug: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{slug}.pem"
    authority = open_authority(load_settings(ca.home))
    path.write_bytes(authority.ca(slug).certificate.public_bytes(serialization.Encoding.PEM))
    authority.db.dispose()
    return path


def _smime(ca: CaHome, who: str, tmp_path: Path) -> tuple[x509.Certificate, x509.Certificate]:
    out = tmp_path / f"{who}-{len(list(tmp_path.glob('*.p12')))}.p12"
    bundle = json.loads(ca.cli("smime", "issue", who, "--out", str(out), "--json").stdout)
    return (
        x509.load_pem_x509_certificate(bundle["signing"]["pem"].encode()),
        x509.load_pem_x509_certificate(bundle["encryption"]["pem"].encode()),
    )


def _status(authority, certificate: x509.Certificate, issuer: x509.Certificate) -> CertStatus:  # type: ignore[no-untyped-def]
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1()).build()
    answer = ca_service.answer_ocsp(
        authority, parse_ocsp_request(request.public_bytes(serialization.Encoding.DER))
    )
    response = ocsp.load_der_ocsp_response(answer.der)
    # Each CA's answers are signed by a responder that CA issued (RFC 6960 §4.2.2.2).
    assert response.certificates[0].issuer == issuer.subject
    return answer.status


def test_smime_certificates_come_from_the_smime_ca_with_its_eku_and_policy(
    ca: CaHome, tmp_path: Path
) -> None:
    cas = _cas(ca)
    assert sorted(cas) == ["issuing", "root", "smime"]
    assert cas["smime"]["extended_key_usage"] == ["emailProtection"] and cas["smime"]["policies"] == [
        SMIME_POLICY
    ]
    assert cas["issuing"]["policies"] == []
    signing, encryption = _smime(ca, "bob", tmp_path)
    smime_ca = x509.load_pem_x509_certificate(_pem(ca, "smime", tmp_path).read_bytes())
    assert signing.issuer == encryption.issuer == smime_ca.subject
    eku = smime_ca.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    # Devices still come from the issuing CA.
    _, csr = make_csr(cn="alice-laptop")
    (tmp_path / "d.csr").write_bytes(csr)
    device = ca.cli_json(
        "cert", "issue", "--profile", "device", "--csr", str(tmp_path / "d.csr"), "--user", "alice"
    )
    assert "Issuing CA" in x509.load_pem_x509_certificate(device["pem"].encode()).issuer.rfc4514_string()  # type: ignore[index]
    (tmp_path / "bob.pem").write_bytes(signing.public_bytes(serialization.Encoding.PEM))
    verified = subprocess.run(
        ["openssl", "verify", "-purpose", "smimesign", "-CAfile", str(_pem(ca, "root", tmp_path)),
         "-untrusted", str(tmp_path / "smime.pem"), str(tmp_path / "bob.pem")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr


def test_ocsp_answers_for_both_issuing_cas_and_not_for_the_root(ca: CaHome, tmp_path: Path) -> None:
    signing, _ = _smime(ca, "mary", tmp_path)
    authority = open_authority(load_settings(ca.home))
    try:
        smime_ca, issuing_ca, root = (authority.ca(s).certificate for s in ("smime", "issuing", "root"))
        assert _status(authority, signing, smime_ca) is CertStatus.GOOD
        ocsp_cert = authority.identity("ocsp").certificate
        assert _status(authority, ocsp_cert, issuing_ca) is CertStatus.GOOD
        ca.cli("cert", "revoke", format(signing.serial_number, "x"), "--reason", "keyCompromise")
        assert _status(authority, signing, smime_ca) is CertStatus.REVOKED
        try:
            _status(authority, issuing_ca, root)
        except NotAuthorized:
            pass
        else:
            raise AssertionError("the root must not be answered for over OCSP")
    finally:
        authority.db.dispose()


def test_revoking_an_issuing_ca_lists_it_on_the_root_crl_and_openssl_refuses_its_leaves(
    ca: CaHome, tmp_path: Path
) -> None:
    signing, _ = _smime(ca, "bob", tmp_path)
    (tmp_path / "bob.pem").write_bytes(signing.public_bytes(serialization.Encoding.PEM))
    refused = ca.cli("ca", "revoke", "root", "--reason", "cACompromise", "--yes", check=False)
    assert refused.returncode == 1 and "root" in refused.stderr and "trust anchor" in refused.stderr
    unconfirmed = ca.cli("ca", "revoke", "smime", "--reason", "cACompromise", check=False, input="")
    assert unconfirmed.returncode == 1 and "--yes" in unconfirmed.stderr
    smime_serial = _cas(ca)["smime"]["serial"]
    as_leaf = ca.cli("cert", "revoke", str(smime_serial), check=False)
    assert as_leaf.returncode == 1 and "revoking the CA" in as_leaf.stderr
    assert _cas(ca)["smime"]["status"] == "active"

    ca.cli("ca", "revoke", "smime", "--reason", "cACompromise", "--yes")
    assert _cas(ca)["smime"]["status"] == "revoked"
    authority = open_authority(load_settings(ca.home))
    try:
        root_crl = x509.load_der_x509_crl(ca_service.current_crl(authority, "root"))
        entry = root_crl.get_revoked_certificate_by_serial_number(
            authority.ca("smime").certificate.serial_number
        )
        assert entry is not None
        assert (
            entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
            == x509.ReasonFlags.ca_compromise
        )
        bundle = b"".join(
            [c.public_bytes(serialization.Encoding.PEM) for c in (authority.ca("root").certificate, authority.ca("smime").certificate)]
            + [x509.load_der_x509_crl(ca_service.current_crl(authority, s)).public_bytes(serialization.Encoding.PEM) for s in ("root", "smime")]
        )  # fmt: skip
    finally:
        authority.db.dispose()
    (tmp_path / "bundle.pem").write_bytes(bundle)
    verify = subprocess.run(
        ["openssl", "verify", "-crl_check_all", "-CAfile", str(tmp_path / "bundle.pem"), str(tmp_path / "bob.pem")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert verify.returncode != 0 and "certificate revoked" in (verify.stdout + verify.stderr)
    # The revoked CA issues nothing more, and the revocation is in the audit trail.
    again = ca.cli("smime", "issue", "mary", "--out", str(tmp_path / "m.p12"), check=False)
    assert again.returncode == 1 and "revoked" in again.stderr
    audit = ca.cli("audit", "list", "--json", "--limit", "20").stdout
    assert '"ca.revoked"' in audit and "ca:smime" in audit


def test_add_smime_gives_an_older_install_its_smime_ca(ca: CaHome, tmp_path: Path) -> None:
    _make_install_from_before_the_smime_ca(ca.home)
    assert sorted(_cas(ca)) == ["issuing", "root"]
    before, _ = _smime(ca, "alice", tmp_path)
    assert "Issuing CA" in before.issuer.rfc4514_string()  # until the S/MIME CA exists
    added = ca.cli("ca", "add-smime").stdout
    assert "S/MIME CA" in added
    cas = _cas(ca)
    assert cas["smime"]["policies"] == [SMIME_POLICY]
    after, _ = _smime(ca, "alice", tmp_path)
    assert after.issuer.rfc4514_string() == cas["smime"]["subject"]
    # The older issuing CA certificate is recorded too, so it could be revoked.
    listed = ca.cli_json("cert", "list", "--profile", "subordinate-ca")
    assert {c["subject"] for c in listed} == {cas["smime"]["subject"], cas["issuing"]["subject"]}  # type: ignore[union-attr, index]
    again = ca.cli("ca", "add-smime", check=False)
    assert again.returncode == 1 and "already exists" in again.stderr


def _make_install_from_before_the_smime_ca(home: Path) -> None:
    """Remove the S/MIME CA, its keys and the CA certificate rows, as an install made before them has none."""
    for label in ("smime-ca", "ocsp-responder-smime"):
        (home / "keys" / f"{label}.key.json").unlink()
    with sqlite3.connect(home / "campusca.db") as db:
        (smime_id,) = db.execute("select id from certificate_authorities where slug = 'smime'").fetchone()
        db.execute("delete from service_identities where ca_id = ?", (smime_id,))
        db.execute("delete from crl_state where ca_id = ?", (smime_id,))
        db.execute("delete from certificates where ca_id = ? or profile = 'subordinate-ca'", (smime_id,))
        db.execute("delete from certificate_authorities where id = ?", (smime_id,))
