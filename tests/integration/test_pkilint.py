"""pkilint (CA/B Forum S/MIME BR, RFC 5280, CRL and OCSP linters) over everything campusca signs, https site.

Warnings pkilint may report are listed in docs/ca-core.md ("pkilint"); errors fail the test.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID
from pkilint.bin import lint_cabf_smime_cert, lint_crl, lint_ocsp_response, lint_pkix_cert

from campusca.config import load_settings
from campusca.keys import KeyType
from campusca.pki.crl import RevocationReason
from campusca.pki.ocsp import parse_ocsp_request
from campusca.services import ca, smime
from campusca.services.authority import Authority
from campusca.services.demo import add_demo_data
from campusca.services.setup import initialise
from tests.support.ca import make_csr

# What docs/ca-core.md lists as accepted; anything else at WARNING or above fails.
ACCEPTED_WARNINGS: frozenset[str] = frozenset()
SMIME_POLICY = x509.ObjectIdentifier("2.23.140.1.5.1.3")


@dataclass(frozen=True)
class Finding:
    artifact: str
    severity: str
    code: str
    message: str | None


@dataclass
class Site:
    authority: Authority
    files: Path

    def write(self, name: str, data: bytes) -> Path:
        path = self.files / name
        path.write_bytes(data)
        return path


@pytest.fixture(scope="module", params=["rsa-2048", "ec-p256"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A CA set up the way the README says: https public URL, so revocation URLs fall back to http."""
    base = tmp_path_factory.mktemp(f"pkilint-{request.param}")
    settings = load_settings(base / "home", public_url="https://ca.example.edu")
    authority, _ = initialise(settings, org_name="Example University", key_type=KeyType(request.param))
    add_demo_data(authority)
    (base / "files").mkdir()
    yield Site(authority, base / "files")
    authority.db.dispose()


def _lint(linter: ModuleType, args: list[str], artifact: str) -> list[Finding]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        linter.main(["lint", *args[:-1], "-s", "WARNING", "-f", "JSON", args[-1]])
    return [
        Finding(artifact, d["severity"], d["code"], d["message"])
        for r in json.loads(out.getvalue())["results"]
        for d in r["finding_descriptions"]
    ]


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _ocsp_answer(authority: Authority, certificate: x509.Certificate, issuer: x509.Certificate) -> bytes:
    query = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256()).build()
    return ca.answer_ocsp(authority, parse_ocsp_request(query.public_bytes(serialization.Encoding.DER))).der


def _everything(site: Site) -> list[Finding]:
    authority = site.authority
    bundle = smime.issue_smime_bundle(authority, username="bob", actor="test")
    mary = smime.issue_smime_bundle(authority, username="mary", actor="test")
    device = ca.issue_from_csr(
        authority, profile_name="device", csr_bytes=make_csr(cn="laptop")[1], username="alice", actor="test"
    )
    server = ca.issue_from_csr(authority, profile_name="server", csr_bytes=make_csr(cn="vpn.example.edu", dns=("vpn.example.edu",))[1], username=None, actor="test")  # fmt: skip
    ca.revoke_by_serial(
        authority, serial=mary.signing.serial, reason=RevocationReason.KEY_COMPROMISE, actor="test"
    )
    ca.revoke_by_serial(authority, serial=device.serial, reason=RevocationReason.SUPERSEDED, actor="test")
    findings: list[Finding] = []
    for name, certificate in (
        ("smime-signing", bundle.signing.certificate),
        ("smime-encryption", bundle.encryption.certificate),
    ):
        findings += _lint(
            lint_cabf_smime_cert, ["-d", str(site.write(f"{name}.pem", _pem(certificate)))], name
        )
    others = {f"ca-{slug}": authority.ca(slug).certificate for slug in ("root", "issuing", "smime")}
    others |= {"device": device.certificate, "server": server.certificate}
    others |= {f"identity-{p}": authority.identity(p).certificate for p in ("ra", "ocsp", "profile-signing")}
    others["identity-ocsp-smime"] = authority.identity("ocsp", "smime").certificate
    for name, certificate in others.items():
        findings += _lint(lint_pkix_cert, [str(site.write(f"{name}.pem", _pem(certificate)))], name)
    for slug, kind in (("root", "ARL"), ("issuing", "CRL"), ("smime", "CRL")):
        crl = site.write(f"{slug}.crl", ca.current_crl(authority, slug))
        for profile in ("PKIX", "BR"):
            findings += _lint(lint_crl, ["-t", kind, "-p", profile, str(crl)], f"crl-{slug}-{profile}")
    smime_ca, issuing_ca = authority.ca("smime").certificate, authority.ca("issuing").certificate
    for name, certificate, issuer in (
        ("ocsp-smime-good", bundle.signing.certificate, smime_ca),
        ("ocsp-smime-revoked", mary.signing.certificate, smime_ca),
        ("ocsp-device-revoked", device.certificate, issuing_ca),
        ("ocsp-server-good", server.certificate, issuing_ca),
    ):
        answer = site.write(f"{name}.der", _ocsp_answer(authority, certificate, issuer))
        findings += _lint(lint_ocsp_response, [str(answer)], name)
    return findings


def test_pkilint_finds_no_error_in_any_certificate_crl_or_ocsp_answer(site: Site) -> None:
    findings = _everything(site)
    errors = [f for f in findings if f.severity in ("ERROR", "FATAL")]
    assert errors == []
    unexpected = [f for f in findings if f.code not in ACCEPTED_WARNINGS]
    assert unexpected == [], "new pkilint warnings: list them in docs/ca-core.md or fix them"


def test_smime_ca_is_an_smime_subordinate_with_http_urls(site: Site) -> None:
    """pkilint has no S/MIME BR linter for CA certificates; §7.1.2.2's rules are checked here."""
    smime_ca = site.authority.ca("smime").certificate
    eku = smime_ca.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    policies = smime_ca.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [SMIME_POLICY]
    points = smime_ca.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for p in points for n in p.full_name or ()] == ["http://ca.example.edu/crl/root.crl"]
    access = smime_ca.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [a.access_location.value for a in access] == ["http://ca.example.edu/ca/root.crt"]
