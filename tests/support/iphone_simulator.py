"""An iPhone for tests: the phone's side of Apple OTA enrollment, over HTTP, against a real `campusca serve`.

It follows the SMS link in "Safari" (login form with CSRF, cookies), downloads the Profile Service
profile, POSTs its CMS-signed attributes (phase 2), enrols by SCEP the way iOS does (RSA 2048 key,
AES-128-CBC, SHA-256, a self-signed `CN=<random UUID>` transient signer), POSTs its attributes again
signed with the new certificate (phase 3), and decrypts the final profile with that key. The server
sits behind a TLS-terminating proxy: the public URL is https, the simulator talks http to the port
and says `X-Forwarded-Proto: https`, as the proxy would.
"""

from __future__ import annotations

import plistlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from campusca.pki import cms
from campusca.scep import PkiStatus
from tests.support.iphone import (
    DeviceIdentity,
    make_device_identity,
    new_rsa_key,
    open_final_profile,
    sign_device_attributes,
)
from tests.support.scep_client import build_pkcs_req, make_transient_signer, read_cert_rep

_NAME_OIDS = {
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
}
_HIDDEN_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class TlsTerminatingProxy(httpx.HTTPTransport):
    """Sends https://127.0.0.1:PORT requests to http://127.0.0.1:PORT with X-Forwarded-Proto: https."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "https":
            return super().handle_request(request)
        headers = httpx.Headers(request.headers)
        headers["X-Forwarded-Proto"] = "https"
        plain = httpx.Request(
            request.method, request.url.copy_with(scheme="http"), headers=headers, content=request.read()
        )
        return super().handle_request(plain)


def proxied_client() -> httpx.Client:
    """A 'Safari' whose cookie jar sees https URLs (so Secure cookies work) behind the proxy."""
    return httpx.Client(transport=TlsTerminatingProxy(), timeout=60, follow_redirects=False)


class EnrollmentRefused(AssertionError):
    """The server refused a step; `response` says how."""

    def __init__(self, step: str, response: httpx.Response) -> None:
        super().__init__(f"{step}: HTTP {response.status_code}: {response.text[:300]}")
        self.response = response


@dataclass
class SimulatedIPhone:
    """Alice's iPhone: an Apple device identity and the attributes it reports."""

    udid: str = "00008110-000A1B2C3D4E5F60"
    serial: str = "F2LXK0ABCD12"
    product: str = "iPhone17,1"
    version: str = "22A3354"
    imei: str = "35 123456 789012 3"
    device_name: str = "Alice's iPhone"
    identity: DeviceIdentity = field(default_factory=lambda: make_device_identity())
    browser: httpx.Client = field(default_factory=proxied_client)
    scep_key: rsa.RSAPrivateKey | None = None
    scep_certificate: x509.Certificate | None = None
    vpn_key: rsa.RSAPrivateKey | None = None
    vpn_certificate: x509.Certificate | None = None
    profiles: list[dict[str, Any]] = field(default_factory=list)

    # --- Safari ------------------------------------------------------------------------------------

    def open_link(self, link: str) -> httpx.Response:
        return self.browser.get(link)

    def log_in(self, link: str, username: str, password: str) -> httpx.Response:
        """Open the link, fill in the login form and submit it; returns the answer to the POST."""
        page = self.open_link(link)
        if page.status_code != 200:
            raise EnrollmentRefused("open link", page)
        match = _HIDDEN_CSRF.search(page.text)
        assert match, "login form carries a CSRF token"
        return self.browser.post(
            f"{link}/login", data={"username": username, "password": password, "csrf": match.group(1)}
        )

    def download_profile_service(self, link: str) -> dict[str, Any]:
        response = self.browser.get(f"{link}/profile")
        if response.status_code != 200:
            raise EnrollmentRefused("phase 1", response)
        assert response.headers["content-type"].startswith("application/x-apple-aspen-config")
        return self._read_signed_profile(response.content)

    def decline(self, link: str) -> httpx.Response:
        page = self.browser.get(link)
        match = _HIDDEN_CSRF.search(page.text)
        assert match, "status page carries a CSRF token"
        return self.browser.post(f"{link}/decline", data={"csrf": match.group(1)})

    # --- Settings: Profile Service ---------------------------------------------------------------------

    def attributes(self, challenge: str | None) -> dict[str, str]:
        attrs = {
            "UDID": self.udid,
            "SERIAL": self.serial,
            "PRODUCT": self.product,
            "VERSION": self.version,
            "IMEI": self.imei,
            "MAC_ADDRESS_EN0": "a4:83:e7:12:34:56",
            "DEVICE_NAME": self.device_name,
        }
        if challenge is not None:
            attrs["CHALLENGE"] = challenge
        return attrs

    def phase2_body(self, profile_service: dict[str, Any]) -> bytes:
        content = profile_service["PayloadContent"]
        return sign_device_attributes(
            self.attributes(content["Challenge"]),
            key=self.identity.device_key,
            certificate=self.identity.device_certificate,
            chain=[self.identity.ca_certificate],
        )

    def post_attributes(self, url: str, body: bytes) -> httpx.Response:
        return self.browser.post(url, content=body, headers={"Content-Type": "application/pkcs7-signature"})

    def phase2(self, profile_service: dict[str, Any]) -> dict[str, Any]:
        response = self.post_attributes(
            profile_service["PayloadContent"]["URL"], self.phase2_body(profile_service)
        )
        if response.status_code != 200:
            raise EnrollmentRefused("phase 2", response)
        return self._read_signed_profile(response.content)

    def phase3_body(self, challenge: str | None) -> bytes:
        assert self.scep_key is not None and self.scep_certificate is not None
        return sign_device_attributes(
            self.attributes(challenge), key=self.scep_key, certificate=self.scep_certificate
        )

    def phase3(self, url: str, challenge: str | None) -> dict[str, Any]:
        response = self.post_attributes(url, self.phase3_body(challenge))
        if response.status_code != 200:
            raise EnrollmentRefused("phase 3", response)
        assert self.scep_key is not None and self.scep_certificate is not None
        profile = open_final_profile(
            response.content, device_key=self.scep_key, device_certificate=self.scep_certificate
        )
        self.profiles.append(profile)
        return profile

    # --- SCEP (iOS) ------------------------------------------------------------------------------------

    def enrol_scep(self, scep_payload: dict[str, Any]) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        """What iOS does when it installs a com.apple.security.scep payload."""
        content = scep_payload["PayloadContent"]
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(content["Keysize"]))
        url = content["URL"]
        ca_response = self.browser.get(
            url, params={"operation": "GetCACert", "message": content.get("Name", "")}
        )
        assert ca_response.status_code == 200, ca_response.text
        certificates, _ = cms.parse_certs_only(ca_response.content)
        recipient = next(c for c in certificates if not _is_ca(c))
        builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(content["Subject"]))
        builder = builder.add_attribute(
            x509.oid.AttributeOID.CHALLENGE_PASSWORD, content["Challenge"].encode()
        )
        if "SubjectAltName" in content and "rfc822Name" in content["SubjectAltName"]:
            san = x509.SubjectAlternativeName([x509.RFC822Name(content["SubjectAltName"]["rfc822Name"])])
            builder = builder.add_extension(san, critical=False)
        csr = builder.sign(key, hashes.SHA256())
        signer = make_transient_signer(key)
        message = build_pkcs_req(
            csr,
            signer_key=key,
            signer_certificate=signer,
            recipient=recipient,
            cipher=cms.ContentCipher.AES_128_CBC,
            digest="sha256",
        )
        reply = self.browser.post(
            f"{url}?operation=PKIOperation",
            content=message.der,
            headers={"Content-Type": "application/x-pki-message"},
        )
        assert reply.status_code == 200, reply.text
        answer = read_cert_rep(reply.content, signer_key=key, signer_certificate=signer)
        if answer.status is not PkiStatus.SUCCESS:
            raise AssertionError(f"SCEP {answer.status.name}: {answer.fail_info} {answer.fail_info_text}")
        certificate = next(c for c in answer.certificates if c.public_key() == key.public_key())
        return key, certificate

    # --- The whole flow ----------------------------------------------------------------------------------

    def enrol(self, link: str, username: str, password: str) -> dict[str, Any]:
        """From the SMS link to the installed final profile; returns the decrypted final profile."""
        login = self.log_in(link, username, password)
        if login.status_code != 303:
            raise EnrollmentRefused("login", login)
        profile_service = self.download_profile_service(link)
        enrollment_profile = self.phase2(profile_service)
        scep = next(
            p for p in enrollment_profile["PayloadContent"] if p["PayloadType"] == "com.apple.security.scep"
        )
        self.scep_key, self.scep_certificate = self.enrol_scep(scep)
        final = self.phase3(
            profile_service["PayloadContent"]["URL"], profile_service["PayloadContent"]["Challenge"]
        )
        identity = next(p for p in final["PayloadContent"] if p["PayloadType"] == "com.apple.security.scep")
        self.vpn_key, self.vpn_certificate = self.enrol_scep(identity)
        return final

    def _read_signed_profile(self, der: bytes) -> dict[str, Any]:
        message = cms.parse_signed_data(der)
        assert message.content is not None
        profile: dict[str, Any] = plistlib.loads(message.content)
        profile["_signer"] = message.signer_certificate
        self.profiles.append(profile)
        return profile


def _subject(subject: list[list[list[str]]]) -> x509.Name:
    attributes = []
    for rdn in subject:
        for oid_name, value in rdn:
            oid = _NAME_OIDS.get(oid_name) or x509.ObjectIdentifier(oid_name)
            attributes.append(x509.NameAttribute(oid, value))
    return x509.Name(attributes)


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def strip_private(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile without the simulator's own bookkeeping keys (for schema validation)."""
    return {k: v for k, v in profile.items() if not k.startswith("_")}


def https_link(link: str) -> str:
    parts = urlsplit(link)
    return urlunsplit(("https", parts.netloc, parts.path, parts.query, parts.fragment))


__all__ = [
    "EnrollmentRefused",
    "SimulatedIPhone",
    "https_link",
    "new_rsa_key",
    "proxied_client",
    "strip_private",
]
