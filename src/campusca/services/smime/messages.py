"""S/MIME messages for the CLI (RFC 8551): sign, encrypt, verify and decrypt RFC 5322 files.

Keys come from the person's PKCS#12 file; recipients' certificates come from the directory; verification
trusts our root and checks revocation against our own current CRLs (what the CRL DP URLs serve).
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from campusca.pki.errors import Pkcs12DecodeError, Pkcs12PasswordError
from campusca.pki.pkcs12 import Pkcs12Contents, load_pkcs12
from campusca.services.authority import ROOT_CA, Authority
from campusca.services.ca.crls import current_crl, current_delta_crl
from campusca.services.errors import InvalidInput, NotFound
from campusca.services.smime.lookup import encryption_certificates
from campusca.smime import (
    DecryptionFailed,
    MalformedMessage,
    VerifiedMessage,
    encrypt_message,
    open_message,
    sign_message,
    verify_message,
)

MAX_MESSAGE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class KeyPair:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def open_pkcs12(data: bytes, password: str) -> list[KeyPair]:
    """Every RSA and EC key pair of a PKCS#12 file, the main one first."""
    try:
        contents: Pkcs12Contents = load_pkcs12(data, password.encode())
    except Pkcs12PasswordError:
        raise InvalidInput("PKCS#12 password is wrong (or the file is damaged)") from None
    except Pkcs12DecodeError as error:
        raise InvalidInput(f"PKCS#12 file cannot be read: {error}") from None
    pairs = [(contents.key, contents.certificate), *contents.extra]
    return [KeyPair(k, c) for k, c in pairs if isinstance(k, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)]


def _usage(certificate: x509.Certificate, name: str) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return bool(getattr(usage, name))


def check_size(message: bytes) -> bytes:
    if not message.strip():
        raise MalformedMessage("message is empty")
    if len(message) > MAX_MESSAGE_BYTES:
        raise InvalidInput(f"message must be at most {MAX_MESSAGE_BYTES} bytes")
    return message


def sign(authority: Authority, message: bytes, *, pkcs12: bytes, password: str) -> bytes:
    """Sign with the PKCS#12's signing key (multipart/signed, our issuing CA certificate included)."""
    pair = next(
        (p for p in open_pkcs12(pkcs12, password) if _usage(p.certificate, "digital_signature")), None
    )
    if pair is None:
        raise InvalidInput("PKCS#12 file holds no signing key (keyUsage digitalSignature)")
    return sign_message(
        check_size(message),
        signer=pair.key,
        signer_certificate=pair.certificate,
        chain=authority.chain_of(pair.certificate)[:-1],  # the issuing CA; the root is the reader's anchor
        signing_time=authority.now(),
    )


def message_addresses(message: bytes, fields: Sequence[str]) -> list[str]:
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(message)
    values = [str(v) for name in fields for v in headers.get_all(name, [])]
    return [address for _, address in email.utils.getaddresses(values) if "@" in address]


def encrypt(
    authority: Authority, message: bytes, *, recipients: Sequence[str] = (), include_sender: bool = True
) -> tuple[bytes, list[str]]:
    """Encrypt to every To/Cc address (and `recipients`), plus the sender, using directory certificates."""
    check_size(message)
    addresses = [*message_addresses(message, ("To", "Cc")), *recipients]
    if include_sender:
        senders = message_addresses(message, ("From",))
        if not senders:
            raise MalformedMessage("message has no From: address to encrypt to the sender as well")
        addresses.extend(senders[:1])
    unique = list(dict.fromkeys(a.lower() for a in addresses))
    if not unique:
        raise MalformedMessage("message names no recipient (To: or Cc:)")
    certificates: list[x509.Certificate] = []
    with authority.db.read() as session:
        for address in unique:
            found = encryption_certificates(authority, session, address)
            if not found:
                raise NotFound(f"the directory has no valid encryption certificate for {address}")
            certificates.append(found[0])
    return encrypt_message(message, certificates), unique


def verify(authority: Authority, message: bytes) -> VerifiedMessage:
    """Verify the signature, the chain to our root, validity, emailProtection, From: and revocation (our CRLs)."""
    # Each full CRL names its delta CRL (Freshest CRL); a validator then wants the delta too.
    slugs = authority.ca_slugs()
    crls = [current_crl(authority, slug) for slug in slugs] + [
        current_delta_crl(authority, slug) for slug in slugs
    ]
    return verify_message(
        check_size(message),
        trust_roots=[authority.ca(ROOT_CA).certificate],
        intermediates=[authority.ca(s).certificate for s in authority.ca_slugs() if s != ROOT_CA],
        crls=crls,
        at=authority.now(),
    )


def decrypt(message: bytes, *, pkcs12: bytes, password: str) -> bytes:
    """Decrypt with whichever key of the PKCS#12 (a recovery file holds the whole key history) fits."""
    check_size(message)
    candidates = [p for p in open_pkcs12(pkcs12, password) if _decrypts(p)]
    if not candidates:
        raise InvalidInput("PKCS#12 file holds no encryption key (keyUsage keyEncipherment or keyAgreement)")
    return decrypt_with(message, candidates)


def _decrypts(pair: KeyPair) -> bool:
    """RSA keys decrypt with keyEncipherment, EC keys agree with keyAgreement (RFC 8550 §4.4.2)."""
    if isinstance(pair.key, ec.EllipticCurvePrivateKey):
        return _usage(pair.certificate, "key_agreement")
    return _usage(pair.certificate, "key_encipherment")


def decrypt_with(message: bytes, candidates: Sequence[KeyPair]) -> bytes:
    """Remove every encryption layer (an S/MIME message, a bare .p7m, nested CMS) with the keys that fit."""
    if not candidates:
        raise DecryptionFailed("message is not encrypted to any key given")
    opened = open_message(message, recipients=[(p.certificate, p.key) for p in candidates])
    return opened.content
