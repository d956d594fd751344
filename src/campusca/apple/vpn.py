"""IKEv2 VPN payload with certificate authentication (Apple schema com.apple.vpn.managed, key IKEv2)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from campusca.apple.errors import PayloadInvalid
from campusca.apple.types import Payload, check_int_range, payload_header


class EncryptionAlgorithm(enum.StrEnum):
    """IKE/ESP ciphers the schema lists; DES and 3DES are left out on purpose."""

    AES_128 = "AES-128"
    AES_256 = "AES-256"
    AES_128_GCM = "AES-128-GCM"
    AES_256_GCM = "AES-256-GCM"
    CHACHA20_POLY1305 = "ChaCha20Poly1305"


class IntegrityAlgorithm(enum.StrEnum):
    """IKE/ESP integrity (and, with GCM, PRF) algorithms; the SHA-1 ones are left out on purpose."""

    SHA2_256 = "SHA2-256"
    SHA2_384 = "SHA2-384"
    SHA2_512 = "SHA2-512"


class DeadPeerDetectionRate(enum.StrEnum):
    """How often iOS sends IKE keepalives: never, 30 min, 10 min, 1 min."""

    NONE = "None"
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"


# MODP 2048+ (14-18), ECP 256/384/521 (19-21), Curve25519/448 (31, 32); groups 1, 2, 5 are too weak.
_DH_GROUPS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 31, 32})


@dataclass(frozen=True, slots=True)
class SecurityAssociationParameters:
    """One IKE or Child SA proposal; defaults are AES-256-GCM, SHA2-256 PRF, ECP-256 (group 19)."""

    encryption_algorithm: EncryptionAlgorithm = EncryptionAlgorithm.AES_256_GCM
    integrity_algorithm: IntegrityAlgorithm = IntegrityAlgorithm.SHA2_256
    diffie_hellman_group: int = 19
    lifetime_minutes: int = 1440

    def to_plist_dict(self) -> Payload:
        """Return the `…SecurityAssociationParameters` dictionary, checking the schema's ranges."""
        if self.diffie_hellman_group not in _DH_GROUPS:
            raise PayloadInvalid("diffie_hellman_group must be one of 14-21, 31 or 32")
        return {
            "EncryptionAlgorithm": EncryptionAlgorithm(self.encryption_algorithm).value,
            "IntegrityAlgorithm": IntegrityAlgorithm(self.integrity_algorithm).value,
            "DiffieHellmanGroup": self.diffie_hellman_group,
            "LifeTimeInMinutes": check_int_range(
                self.lifetime_minutes, field="lifetime_minutes", low=10, high=1440
            ),
        }


DEFAULT_IKE_SA = SecurityAssociationParameters()
DEFAULT_CHILD_SA = SecurityAssociationParameters(lifetime_minutes=480)


def ikev2_vpn_payload(
    *,
    identifier: str,
    display_name: str,
    remote_address: str,
    remote_identifier: str,
    local_identifier: str,
    identity_payload_uuid: str,
    enable_revocation_check: bool = True,
    server_ca_common_name: str | None = None,
    server_certificate_common_name: str | None = None,
    enable_pfs: bool = True,
    dead_peer_detection: DeadPeerDetectionRate = DeadPeerDetectionRate.MEDIUM,
    ike_sa: SecurityAssociationParameters = DEFAULT_IKE_SA,
    child_sa: SecurityAssociationParameters = DEFAULT_CHILD_SA,
    payload_uuid: str | None = None,
) -> Payload:
    """Return a `com.apple.vpn.managed` payload: IKEv2 authenticated by the device's certificate.

    `identity_payload_uuid` is the PayloadUUID of the identity payload (SCEP or PKCS#12) that must sit in
    the same profile; `remote_identifier` is the gateway's IKE ID, also used to check its certificate
    unless `server_certificate_common_name` is given. `server_ca_common_name` makes iOS send a
    CERTREQ for that issuer (and then needs CertificateType, always RSA here: the SCEP payload makes RSA).
    """
    for field, value in (
        ("display_name", display_name),
        ("remote_address", remote_address),
        ("remote_identifier", remote_identifier),
        ("local_identifier", local_identifier),
        ("identity_payload_uuid", identity_payload_uuid),
    ):
        if not isinstance(value, str) or not value:
            raise PayloadInvalid(f"{field} must be a non-empty string")
    ikev2: Payload = {
        "RemoteAddress": remote_address,
        "RemoteIdentifier": remote_identifier,
        "LocalIdentifier": local_identifier,
        "AuthenticationMethod": "Certificate",
        "PayloadCertificateUUID": identity_payload_uuid,
        "EnableCertificateRevocationCheck": 1 if enable_revocation_check else 0,
        "EnablePFS": 1 if enable_pfs else 0,
        "DeadPeerDetectionRate": DeadPeerDetectionRate(dead_peer_detection).value,
        "IKESecurityAssociationParameters": ike_sa.to_plist_dict(),
        "ChildSecurityAssociationParameters": child_sa.to_plist_dict(),
    }
    if server_ca_common_name is not None:
        ikev2["CertificateType"] = "RSA"
        ikev2["ServerCertificateIssuerCommonName"] = server_ca_common_name
    if server_certificate_common_name is not None:
        ikev2["ServerCertificateCommonName"] = server_certificate_common_name
    payload = payload_header(
        "com.apple.vpn.managed", identifier=identifier, display_name=display_name, payload_uuid=payload_uuid
    )
    payload["UserDefinedName"] = display_name
    payload["VPNType"] = "IKEv2"
    payload["IKEv2"] = ikev2
    return payload
