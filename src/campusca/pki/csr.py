"""Certificate signing request checks (RFC 2986): parse, verify the proof of possession, read SANs."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from campusca.pki.errors import CsrInvalid
from campusca.pki.pem import CSR_LABELS, is_pem, pem_der

MIN_RSA_BITS = 2048
ALLOWED_CURVES = ("secp256r1", "secp384r1", "secp521r1")


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    """Parse a PEM (RFC 7468, text around the block allowed) or DER CSR; check its signature and key."""
    if is_pem(data):
        der = pem_der(data, CSR_LABELS)
        if der is None:
            raise CsrInvalid("CSR PEM text must hold a CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST block")
        data = der
    try:
        csr = x509.load_der_x509_csr(data)
    except x509.InvalidVersion:
        raise CsrInvalid("CSR version must be 1 (encoded 0)") from None
    except ValueError:
        raise CsrInvalid("CSR is not a valid PEM or DER PKCS#10 request") from None
    check_csr(csr)
    return csr


def check_csr(csr: x509.CertificateSigningRequest) -> None:
    """Verify the CSR's signature (proof of possession) and that its key is strong enough."""
    try:
        valid = csr.is_signature_valid
        public_key = csr.public_key()
    except Exception:  # noqa: BLE001 - cryptography raises several types for broken keys
        raise CsrInvalid("CSR public key or signature cannot be read") from None
    if not valid:
        raise CsrInvalid("CSR signature does not verify")
    check_key_strength(public_key)


def check_key_strength(public_key: object) -> None:
    """RSA keys of at least 2048 bits or EC keys on an allowed curve; anything else is CsrInvalid."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise CsrInvalid(f"CSR RSA key must be at least {MIN_RSA_BITS} bits; got {public_key.key_size}")
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name not in ALLOWED_CURVES:
            raise CsrInvalid(f"CSR EC curve must be one of {', '.join(ALLOWED_CURVES)}")
    else:
        raise CsrInvalid("CSR key must be RSA or EC")


def requested_dns_names(csr: x509.CertificateSigningRequest) -> list[str]:
    """dNSName values the requester asked for (the caller decides whether to honour them)."""
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [str(n) for n in san.get_values_for_type(x509.DNSName)]
