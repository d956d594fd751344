"""A throw-away RSA CA (root → issuing CA → people) with S/MIME-like certificates, CRLs and OCSP responses.

Shared by the S/MIME unit tests and the openssl/gpgsm interop tests; no tests here.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

# Real time, so that openssl and gpgsm (which validate at "now") accept the certificates too.
NOW = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
SMIME_POLICY = x509.ObjectIdentifier("2.23.140.1.5.1.3")  # SBR mailbox-validated, strict


@dataclass(frozen=True)
class Issued:
    """A private key and its certificate."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write `<stem>.key` (unencrypted PKCS#8) and `<stem>.pem`; return their paths."""
        key_path, cert_path = directory / f"{stem}.key", directory / f"{stem}.pem"
        key_path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        cert_path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return key_path, cert_path


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, email: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Campus Test University"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if email:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attributes)


class TestCa:
    """Root and issuing CA; issues people's signing and encryption certificates."""

    __test__ = False  # not a pytest class

    def __init__(self, label: str = "Campus Test") -> None:
        self.root = self._ca(f"{label} Root", None, path_length=1)
        self.issuing = self._ca(f"{label} Issuing CA", self.root, path_length=0)

    def _ca(self, common_name: str, parent: Issued | None, *, path_length: int) -> Issued:
        key = rsa_key()
        issuer_key = parent.key if parent else key
        issuer_name = parent.certificate.subject if parent else _name(common_name)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - 30 * DAY)
            .not_valid_after(NOW + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if parent:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), critical=False
            )
        return Issued(key, builder.sign(issuer_key, hashes.SHA256()))

    def issue(
        self,
        email: str,
        *,
        usage: str = "sign",
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        email_protection: bool = True,
        ocsp_url: str | None = None,
        crl_url: str | None = None,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    ) -> Issued:
        """Issue a person's certificate: `usage` is "sign" (digitalSignature), "encrypt" (keyEncipherment),
        "agree" (keyAgreement, for EC keys) or "both"."""
        key = key or rsa_key()
        eku = ExtendedKeyUsageOID.EMAIL_PROTECTION if email_protection else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(email.split("@")[0].title()))
            .issuer_name(self.issuing.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - DAY)
            .not_valid_after(not_after or NOW + 365 * DAY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                _key_usage(
                    signature=usage in ("sign", "both"),
                    encipherment=usage in ("encrypt", "both"),
                    agreement=usage == "agree",
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issuing.key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.CertificatePolicies([x509.PolicyInformation(SMIME_POLICY, None)]),
                critical=False,
            )
        )
        if crl_url:
            point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
            builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
        if ocsp_url:
            builder = builder.add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
                        )
                    ]
                ),
                critical=False,
            )
        return Issued(key, builder.sign(self.issuing.key, hashes.SHA256()))

    def crls(
        self, revoked: Sequence[x509.Certificate] = (), *, next_update: datetime.timedelta = 7 * DAY
    ) -> list[bytes]:
        """DER CRLs of the root (empty) and of the issuing CA (listing `revoked` as keyCompromise)."""
        return [self._crl(self.root, (), next_update), self._crl(self.issuing, revoked, next_update)]

    def _crl(self, ca: Issued, revoked: Sequence[x509.Certificate], next_update: datetime.timedelta) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca.certificate.subject)
            .last_update(NOW - DAY)
            .next_update(NOW + next_update)
            .add_extension(x509.CRLNumber(1), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
            )
        )
        for certificate in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(certificate.serial_number)
                .revocation_date(NOW - DAY)
                .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
                .build()
            )
        return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp_good(self, certificate: x509.Certificate) -> bytes:
        """A DER OCSP response, signed by the issuing CA itself, saying `certificate` is good."""
        response = (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=certificate,
                issuer=self.issuing.certificate,
                algorithm=hashes.SHA256(),
                cert_status=ocsp.OCSPCertStatus.GOOD,
                this_update=NOW - DAY,
                next_update=NOW + 7 * DAY,
                revocation_time=None,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self.issuing.certificate)
            .sign(self.issuing.key, hashes.SHA256())
        )
        return response.public_bytes(serialization.Encoding.DER)


def _key_usage(
    *, signature: bool = False, encipherment: bool = False, cert_sign: bool = False, agreement: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature,
        content_commitment=False,
        key_encipherment=encipherment,
        data_encipherment=False,
        key_agreement=agreement,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def mail(
    sender: str = "bob@campus.example",
    body: str = "Hello Mary,\nthe minutes are attached.\n",
    *,
    lf: bool = False,
) -> bytes:
    """A plain-text RFC 5322 message, CRLF line ends unless `lf`."""
    text = (
        f"From: Bob <{sender}>\n"
        "To: Mary <mary@campus.example>\n"
        "Subject: Minutes\n"
        "Date: Mon, 01 Jun 2026 10:00:00 +0000\n"
        "Message-ID: <minutes-1@campus.example>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="us-ascii"\n'
        "Content-Transfer-Encoding: 7bit\n"
        "\n" + body
    )
    data = text.encode("utf-8")
    return data if lf else data.replace(b"\n", b"\r\n")
