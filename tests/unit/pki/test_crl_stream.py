"""The streamed CRL encoder: what `cryptography` reads back is what went in, for RSA and both EC curves."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from campusca.pki.crl import RevocationReason, RevokedEntry
from campusca.pki.crl_stream import crl_bytes, der_length

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
KEYS = {
    "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
}


def _ca(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stream CA")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_entries_reasons_and_extensions_read_back(kind: str) -> None:
    key = KEYS[kind]()
    reasons = list(RevocationReason)
    entries = [
        RevokedEntry(secrets.randbits(159) | 1, NOW - timedelta(seconds=i), reasons[i % len(reasons)])
        for i in range(300)
    ] + [RevokedEntry(1 << 158, datetime(2051, 1, 1, tzinfo=UTC), RevocationReason.SUPERSEDED)]
    der = crl_bytes(
        issuer_certificate=_ca(key),
        issuer_key=key,
        entries=iter(entries),
        crl_number=7,
        this_update=NOW,
        next_update=NOW + timedelta(hours=24),
        delta_base=5,
        freshest_url="http://ca.example.edu/crl/issuing.delta.crl",
    )
    crl = x509.load_der_x509_crl(der)
    assert crl.is_signature_valid(key.public_key())  # type: ignore[arg-type]
    assert [(r.serial_number, r.revocation_date_utc) for r in crl] == [
        (e.serial, e.revoked_at) for e in entries
    ]
    for revoked, entry in zip(crl, entries, strict=True):
        if entry.reason is RevocationReason.UNSPECIFIED:
            assert len(revoked.extensions) == 0
        else:
            assert (
                revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason
                == entry.reason.x509_flag
            )
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    delta = crl.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    assert delta.critical and delta.value.crl_number == 5
    freshest = crl.extensions.get_extension_for_class(x509.FreshestCRL).value
    assert freshest[0].full_name == [
        x509.UniformResourceIdentifier("http://ca.example.edu/crl/issuing.delta.crl")
    ]
    crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)


def test_an_empty_crl_has_no_revoked_list() -> None:
    key = KEYS["p256"]()
    der = crl_bytes(
        issuer_certificate=_ca(key),
        issuer_key=key,
        entries=[],
        crl_number=1,
        this_update=NOW,
        next_update=NOW,
    )
    crl = x509.load_der_x509_crl(der)
    assert len(crl) == 0 and crl.is_signature_valid(key.public_key())


def test_long_form_lengths() -> None:
    assert der_length(0x7F) == b"\x7f"
    assert der_length(0x80) == b"\x81\x80"
    assert der_length(55_000_000) == b"\x84" + (55_000_000).to_bytes(4, "big")
