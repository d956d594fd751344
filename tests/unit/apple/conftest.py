"""Keys and certificates for the Apple codec tests: campusca's CA chain, a profile signer, device identities."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.iphone import DeviceIdentity, issue_test_certificate, make_device_identity, new_rsa_key


@dataclass(frozen=True, slots=True)
class Pki:
    """campusca's side: root → issuing CA → profile signer, plus a device certificate enrolled by SCEP."""

    root: x509.Certificate
    issuing_ca: x509.Certificate
    signer_key: rsa.RSAPrivateKey
    signer: x509.Certificate
    enrolled_key: rsa.RSAPrivateKey
    enrolled: x509.Certificate


@pytest.fixture(scope="session")
def pki() -> Pki:
    root_key, ca_key, signer_key, enrolled_key = (new_rsa_key() for _ in range(4))
    root = issue_test_certificate(subject="Campus Root CA", key=root_key, ca=True)
    issuing = issue_test_certificate(
        subject="Campus Issuing CA", key=ca_key, issuer=root, issuer_key=root_key, ca=True
    )
    signer = issue_test_certificate(
        subject="Campus Profile Signing", key=signer_key, issuer=issuing, issuer_key=ca_key
    )
    enrolled = issue_test_certificate(
        subject="alice iPhone 00008110", key=enrolled_key, issuer=issuing, issuer_key=ca_key
    )
    return Pki(root, issuing, signer_key, signer, enrolled_key, enrolled)


@pytest.fixture(scope="session")
def iphone() -> DeviceIdentity:
    return make_device_identity()
