"""The MDM side of the simulated iPhone: signed check-ins, reports, and what iOS does with the commands.

Every message carries `Mdm-Signature`: base64 of a detached CMS SignedData over the body, by the identity
the com.apple.mdm payload names (IdentityCertificateUUID), its certificate inside, as iOS sends it.
InstallProfile is handled the way iOS does for a replacement of the enrollment profile: verify and
decrypt it, enrol the new SCEP identity, authenticate again with it (Authenticate + TokenUpdate), then
acknowledge — signed with the new identity.
"""

from __future__ import annotations

import base64
import plistlib
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from campusca.pki import cms
from tests.support.iphone import open_final_profile, to_indefinite_ber
from tests.support.iphone_simulator import SimulatedIPhone


@dataclass
class MdmClient:
    """The phone's mdmclient: enrolled from the final profile's com.apple.mdm payload."""

    phone: SimulatedIPhone
    payload: dict[str, Any]
    token: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    push_magic: str = field(default_factory=lambda: secrets.token_hex(16).upper())
    installed: list[dict[str, Any]] = field(default_factory=list)
    identity_key: rsa.RSAPrivateKey | None = None
    identity: x509.Certificate | None = None

    @classmethod
    def from_final_profile(cls, phone: SimulatedIPhone, final: dict[str, Any]) -> MdmClient:
        payload = next(p for p in final["PayloadContent"] if p["PayloadType"] == "com.apple.mdm")
        return cls(phone, payload, identity_key=phone.vpn_key, identity=phone.vpn_certificate)

    # --- the wire ------------------------------------------------------------------------------

    def signature(self, body: bytes, *, key: rsa.RSAPrivateKey | None = None,
                  certificate: x509.Certificate | None = None) -> str:  # fmt: skip
        key, certificate = key or self.identity_key, certificate or self.identity
        assert key is not None and certificate is not None
        der = cms.build_signed_data(body, signer=key, signer_certificate=certificate, detached=True)
        return base64.b64encode(to_indefinite_ber(der)).decode()

    def put(self, url: str, body: bytes, *, signature: str | None = "sign") -> httpx.Response:
        headers = {"Content-Type": "application/x-apple-aspen-mdm"}
        if signature == "sign":
            headers["Mdm-Signature"] = self.signature(body)
        elif signature is not None:
            headers["Mdm-Signature"] = signature
        return self.phone.browser.put(url, content=body, headers=headers)

    def checkin_body(self, message_type: str) -> bytes:
        message: dict[str, Any] = {
            "MessageType": message_type,
            "UDID": self.phone.udid,
            "Topic": self.payload["Topic"],
        }
        if message_type == "Authenticate":
            message |= {"DeviceName": self.phone.device_name, "Model": "iPhone17,1", "ModelName": "iPhone",
                        "OSVersion": "18.1", "BuildVersion": self.phone.version, "SerialNumber": self.phone.serial}  # fmt: skip
        elif message_type == "TokenUpdate":
            message |= {"Token": self.token, "PushMagic": self.push_magic, "NotOnConsole": False}
        return plistlib.dumps(message, fmt=plistlib.FMT_XML)

    def check_in(self, message_type: str) -> httpx.Response:
        return self.put(self.payload["CheckInURL"], self.checkin_body(message_type))

    def enrol(self) -> None:
        """What iOS does right after installing a profile with an MDM payload."""
        for message_type in ("Authenticate", "TokenUpdate"):
            response = self.check_in(message_type)
            assert response.status_code == 200, f"{message_type}: {response.status_code} {response.text}"

    def report_body(self, status: str, command_uuid: str | None = None, **fields: Any) -> bytes:
        message: dict[str, Any] = {"Status": status, "UDID": self.phone.udid, **fields}
        if command_uuid is not None:
            message["CommandUUID"] = command_uuid
        return plistlib.dumps(message, fmt=plistlib.FMT_XML)

    def report(self, status: str, command_uuid: str | None = None, **fields: Any) -> dict[str, Any] | None:
        """Send a report; returns the next command (a plist dictionary) or None for an empty answer."""
        response = self.put(self.payload["ServerURL"], self.report_body(status, command_uuid, **fields))
        assert response.status_code == 200, f"{status}: {response.status_code} {response.text}"
        return plistlib.loads(response.content) if response.content else None

    # --- what iOS does with commands -----------------------------------------------------------------

    def perform(self, command: dict[str, Any]) -> dict[str, Any] | None:
        """Carry out a command and acknowledge it; returns the next command."""
        request_type = command["Command"]["RequestType"]
        if request_type == "InstallProfile":
            self.install_profile(command["Command"]["Payload"])
            return self.report("Acknowledged", command["CommandUUID"])
        if request_type == "CertificateList":
            return self.report(
                "Acknowledged", command["CommandUUID"], CertificateList=self.certificate_list()
            )
        return self.report(
            "Error",
            command["CommandUUID"],
            ErrorChain=[{"ErrorCode": 12021, "LocalizedDescription": "unsupported"}],
        )

    def install_profile(self, signed_profile: bytes) -> dict[str, Any]:
        """Install a replacement profile: a new SCEP identity, then authenticate again with it."""
        assert self.identity_key is not None and self.identity is not None
        profile = open_final_profile(
            signed_profile, device_key=self.identity_key, device_certificate=self.identity
        )
        self.installed.append(profile)
        payloads = {p["PayloadType"]: p for p in profile["PayloadContent"]}
        managed = payloads["com.apple.mdm"]
        assert {k: managed[k] for k in ("Topic", "ServerURL", "CheckInURL", "AccessRights")} == {
            k: self.payload[k] for k in ("Topic", "ServerURL", "CheckInURL", "AccessRights")
        }, "iOS rejects an MDM payload update that changes Topic, URLs or rights"
        key, certificate = self.phone.enrol_scep(payloads["com.apple.security.scep"])
        self.identity_key, self.identity = key, certificate
        self.phone.vpn_key, self.phone.vpn_certificate = key, certificate
        self.payload = managed
        self.enrol()
        return profile

    def certificate_list(self) -> list[dict[str, Any]]:
        assert self.identity is not None
        certificates = [self.identity]
        if self.phone.scep_certificate is not None:
            certificates.append(self.phone.scep_certificate)
        return [
            {
                "CommonName": c.subject.rfc4514_string(),
                "Data": c.public_bytes(serialization.Encoding.DER),
                "IsIdentity": True,
            }
            for c in certificates
        ]
