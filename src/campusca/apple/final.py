"""The phase-3 profile this project sends: CA chain, fresh SCEP identity, passcode policy, IKEv2 VPN (research §2.7).

The VPN must name its identity by PayloadUUID inside the same profile, and the phase-2 identity lives in
another profile, so the final profile carries a second `com.apple.security.scep` payload with a fresh
one-time challenge: installing it makes iOS generate a new key on the phone and enrol once more, and the
VPN payload points at that payload. Why this and not PKCS#12 or a reference to phase 2: docs/apple.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509

from campusca.apple.errors import PayloadInvalid
from campusca.apple.payloads import certificate_payloads
from campusca.apple.profile import configuration_profile
from campusca.apple.types import Payload

IDENTITY_PAYLOAD_TYPES = frozenset({"com.apple.security.scep", "com.apple.security.pkcs12"})


def final_profile(
    *,
    identifier: str,
    display_name: str,
    organization: str,
    description: str,
    identity: Payload,
    passcode: Payload,
    vpn: Payload,
    encrypted_to: x509.Certificate,
    ca_certificates: Sequence[x509.Certificate] = (),
    expiration_date: datetime | None = None,
    payload_uuid: str | None = None,
    mdm: Payload | None = None,
) -> Payload:
    """Return the encrypted final profile: CA certificates, `identity`, `passcode`, `vpn` (and `mdm`), in order.

    `identity` comes from `scep_payload` (a fresh challenge), `passcode` from `passcode_policy_payload`,
    `vpn` from `ikev2_vpn_payload(identity_payload_uuid=identity["PayloadUUID"], …)`; `encrypted_to` is
    the certificate that signed the device's phase-3 request. CA payloads get `<identifier>.ca.<n>`.
    Keep `identifier` stable per device so a re-enrolment replaces the profile instead of adding one.
    `mdm` (from `mdm_payload`) must check in with `identity`: its IdentityCertificateUUID names it.
    """
    if identity.get("PayloadType") not in IDENTITY_PAYLOAD_TYPES:
        raise PayloadInvalid(
            "identity must be a com.apple.security.scep or com.apple.security.pkcs12 payload"
        )
    if passcode.get("PayloadType") != "com.apple.mobiledevice.passwordpolicy":
        raise PayloadInvalid("passcode must be a com.apple.mobiledevice.passwordpolicy payload")
    ikev2 = vpn.get("IKEv2")
    if vpn.get("PayloadType") != "com.apple.vpn.managed" or not isinstance(ikev2, dict):
        raise PayloadInvalid("vpn must be a com.apple.vpn.managed payload of VPNType IKEv2")
    if ikev2.get("PayloadCertificateUUID") != identity.get("PayloadUUID"):
        raise PayloadInvalid("vpn PayloadCertificateUUID must be the identity payload's PayloadUUID")
    payloads = [*certificate_payloads(ca_certificates, identifier_prefix=identifier), identity, passcode, vpn]
    if mdm is not None:
        if mdm.get("PayloadType") != "com.apple.mdm":
            raise PayloadInvalid("mdm must be a com.apple.mdm payload")
        if mdm.get("IdentityCertificateUUID") != identity.get("PayloadUUID"):
            raise PayloadInvalid("mdm IdentityCertificateUUID must be the identity payload's PayloadUUID")
        payloads.append(mdm)
    return configuration_profile(
        payloads=payloads,
        identifier=identifier,
        display_name=display_name,
        organization=organization,
        description=description,
        expiration_date=expiration_date,
        encrypted_to=encrypted_to,
        payload_uuid=payload_uuid,
    )
