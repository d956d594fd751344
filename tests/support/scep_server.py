"""A served campusca for SCEP tests, and requests built the way iOS, scepclient and certmonger build them."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import AttributeOID, NameOID
from sqlalchemy import func, select

from campusca.config import load_settings
from campusca.db.models import Certificate
from campusca.pki import cms
from campusca.pki.certificates import openssl_serial
from campusca.services import scep
from campusca.services.authority import Authority, open_authority
from campusca.services.people.registry import get_person
from tests.support.ca import CaHome, free_port, serving
from tests.support.scep_client import (
    CertRepReply,
    ClientMessage,
    build_pkcs_req,
    make_transient_signer,
    read_cert_rep,
)


@dataclass
class ScepServer:
    """A running `campusca serve` plus an in-process Authority on the same data directory."""

    ca: CaHome
    url: str
    authority: Authority

    @property
    def scep_url(self) -> str:
        return f"{self.url}/scep"

    @property
    def ra(self) -> x509.Certificate:
        return scep.ra_identity(self.authority).certificate

    @property
    def issuing(self) -> x509.Certificate:
        return self.authority.chain()[0]

    def challenge(self, user: str = "alice", **options: object) -> str:
        with self.authority.db.write() as session:
            return scep.create_challenge(
                self.authority,
                session,
                person=get_person(session, user),
                actor="test",
                **options,  # type: ignore[arg-type]
            )

    def certificate_count(self) -> int:
        with self.authority.db.read() as session:
            return int(session.execute(select(func.count(Certificate.id))).scalar_one())

    def post(self, der: bytes, **options: object) -> httpx.Response:
        return httpx.post(f"{self.scep_url}?operation=PKIOperation", content=der, timeout=30, **options)  # type: ignore[arg-type]

    def get_pki(self, der: bytes, *, wrap: bool = False) -> httpx.Response:
        """PKIOperation by GET the way Apple sends it: `+` and `/` left unescaped, only `=` escaped."""
        text = base64.b64encode(der).decode()
        if wrap:  # sscep and Cisco wrap the base64 every 64 characters
            text = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
        query = text.replace("=", "%3D").replace("\n", "%0A")
        return httpx.get(f"{self.scep_url}?operation=PKIOperation&message={query}", timeout=30)


@contextmanager
def scep_server(template: Path, workdir: Path, **settings: object) -> Iterator[ScepServer]:
    """Copy the template CA into `workdir`, apply `settings` through campusca.toml, and serve it."""
    home = workdir / "home"
    shutil.copytree(template, home)
    port = free_port()
    lines = [f'public_url = "http://127.0.0.1:{port}"']
    for name, value in settings.items():
        rendered = str(value).lower() if isinstance(value, bool) else repr(value).replace("'", '"')
        lines.append(f"{name} = {rendered}")
    (home / "campusca.toml").write_text("\n".join(lines) + "\n")
    ca = CaHome(home=home, port=port)
    authority = open_authority(load_settings(home))
    try:
        with serving(ca) as url:
            yield ScepServer(ca=ca, url=url, authority=authority)
    finally:
        authority.db.dispose()


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_csr(
    key: rsa.RSAPrivateKey,
    *,
    cn: str = "alice-iphone",
    challenge: str | None = None,
    dns: tuple[str, ...] = (),
    digest: hashes.HashAlgorithm | None = None,
) -> x509.CertificateSigningRequest:
    """A CSR with a CN, optional challengePassword and DNS names; SHA-1 ones are built by hand."""
    if isinstance(digest, hashes.SHA1):
        return _sha1_csr(key, cn=cn, challenge=challenge)
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    if dns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False
        )
    if challenge is not None:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
    return builder.sign(key, digest or hashes.SHA256())


def _sha1_csr(key: rsa.RSAPrivateKey, *, cn: str, challenge: str | None) -> x509.CertificateSigningRequest:
    """cryptography 49 refuses to sign a CSR with SHA-1, which old iOS (caps without SHA-256) still sends."""
    attributes = []
    if challenge is not None:
        value = asn1_x509.DirectoryString(name="printable_string", value=challenge)
        attributes.append(asn1_csr.CRIAttribute({"type": "challenge_password", "values": [value]}))
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = asn1_csr.CertificationRequestInfo(
        {
            "version": 0,
            "subject": asn1_x509.Name.build({"common_name": cn}),
            "subject_pk_info": asn1_keys.PublicKeyInfo.load(public),
            "attributes": attributes,
        }
    )
    signature = key.sign(info.dump(), padding.PKCS1v15(), hashes.SHA1())
    request = asn1_csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": {"algorithm": "sha1_rsa"},
            "signature": signature,
        }
    )
    return x509.load_der_x509_csr(request.dump())


@dataclass(frozen=True)
class Device:
    """A client's key, its transient self-signed signer certificate, and the request it sent."""

    key: rsa.RSAPrivateKey
    signer: x509.Certificate
    csr: x509.CertificateSigningRequest
    message: ClientMessage


def pkcs_req(
    server: ScepServer,
    *,
    challenge: str | None,
    cn: str = "alice-iphone",
    key: rsa.RSAPrivateKey | None = None,
    cipher: cms.ContentCipher = cms.ContentCipher.AES_128_CBC,
    digest: str = "sha256",
    recipient: x509.Certificate | None = None,
    dns: tuple[str, ...] = (),
    **options: object,
) -> Device:
    """A PKCSReq like iOS builds it (transient `CN=<UUID>` signer, Apple transactionID)."""
    key = key or new_key()
    csr = make_csr(key, cn=cn, challenge=challenge, dns=dns)
    signer = make_transient_signer(key)
    message = build_pkcs_req(
        csr,
        signer_key=key,
        signer_certificate=signer,
        recipient=recipient or server.ra,
        cipher=cipher,
        digest=digest,
        **options,
    )
    return Device(key=key, signer=signer, csr=csr, message=message)


def read_reply(
    server: ScepServer, response: httpx.Response, device: Device, message: ClientMessage | None = None
) -> CertRepReply:
    """Check the HTTP answer and the CertRep as a strict client would, with the device's key.

    `message` is the request answered (default: the device's PKCSReq).
    """
    message = message or device.message
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-pki-message"
    reply = read_cert_rep(
        response.content, signer_key=device.key, signer_certificate=device.signer, expected_signer=server.ra
    )
    assert reply.transaction_id == message.transaction_id
    assert reply.recipient_nonce == message.sender_nonce
    assert reply.sender_nonce != message.sender_nonce
    return reply


def served_chain(server: ScepServer, workdir: Path) -> tuple[Path, Path]:
    """Write the GetCACert answer's issuing CA and root as PEM files: (untrusted, trusted)."""
    response = httpx.get(f"{server.scep_url}?operation=GetCACert")
    _, issuing, root = cms.parse_certs_only(response.content)[0]
    untrusted, trusted = workdir / "issuing.pem", workdir / "root.pem"
    untrusted.write_bytes(issuing.public_bytes(serialization.Encoding.PEM))
    trusted.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return untrusted, trusted


def assert_verifies_and_is_listed(server: ScepServer, workdir: Path, certificate: Path) -> x509.Certificate:
    untrusted, trusted = served_chain(server, workdir)
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(trusted), "-untrusted", str(untrusted), str(certificate)],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0 and verify.stdout.strip().endswith(": OK"), verify.stdout + verify.stderr
    issued = x509.load_pem_x509_certificate(certificate.read_bytes())
    listed = server.ca.cli_json("cert", "list")
    assert isinstance(listed, list)
    assert openssl_serial(issued.serial_number) in {c["serial"] for c in listed}
    return issued
