"""A throw-away OpenLDAP `slapd` on 127.0.0.1 for login tests: slapd.conf + slapadd in a temporary folder.

The directory holds dc=example,dc=edu with people (uid=…, inetOrgPerson), a read-only service account,
two groups (groupOfNames `ca-admins`, groupOfUniqueNames `helpdesk`) and, optionally, StartTLS with a
server certificate made by the test (its CA is written next to it for the client's `ca_file`).
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.ca import free_port

SUFFIX = "dc=example,dc=edu"
SERVICE_DN = f"cn=reader,{SUFFIX}"
SERVICE_PASSWORD = "reader-secret-1"
PUBLISHER_DN = f"cn=publisher,{SUFFIX}"  # writes S/MIME certificates only (issue 13)
PUBLISHER_PASSWORD = "publisher-secret-1"
PEOPLE = {  # uid: (cn, mail, password)
    "alice": ("Alice Archer", "alice@example.edu", "alice-ldap-pass"),
    "bob": ("Bob Baker", "bob@example.edu", "bob-ldap-pass"),
    "mary": ("Mary Miller", "mary@example.edu", "mary-ldap-pass"),
}
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


@dataclass(frozen=True, slots=True)
class Slapd:
    url: str
    port: int
    ca_file: Path | None  # the CA that signed the server certificate, when TLS is on

    def settings(self, **extra: object) -> dict[str, object]:
        """An `ldap."ORG"` table for campusca.toml."""
        values: dict[str, object] = {
            "url": self.url,
            "bind_dn": SERVICE_DN,
            "bind_password": SERVICE_PASSWORD,
            "user_base": f"ou=people,{SUFFIX}",
            "group_base": f"ou=groups,{SUFFIX}",
            "group_roles": {"ca-admins": "admin", f"cn=helpdesk,ou=groups,{SUFFIX}": "helpdesk"},
        }
        return {**values, **extra}

    def publish_settings(self, **extra: object) -> dict[str, object]:
        """The `ldap."ORG"` table with the certificate-publishing account."""
        return self.settings(publish_bind_dn=PUBLISHER_DN, publish_bind_password=PUBLISHER_PASSWORD, **extra)


def _ldif() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example University",
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: reader\nuserPassword: {SERVICE_PASSWORD}",
        f"dn: {PUBLISHER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: publisher\nuserPassword: {PUBLISHER_PASSWORD}",
        f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people",
        f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups",
    ]
    for uid, (cn, mail, password) in PEOPLE.items():
        entries.append(
            f"dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\n"
            f"sn: {cn.split()[-1]}\ndisplayName: {cn}\nmail: {mail}\nuserPassword: {password}"
        )
    entries.append(
        f"dn: cn=ca-admins,ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: ca-admins\n"
        f"member: uid=alice,ou=people,{SUFFIX}"
    )
    entries.append(
        f"dn: cn=helpdesk,ou=groups,{SUFFIX}\nobjectClass: groupOfUniqueNames\ncn: helpdesk\n"
        f"uniqueMember: uid=alice,ou=people,{SUFFIX}\nuniqueMember: uid=bob,ou=people,{SUFFIX}"
    )
    return "\n\n".join(entries) + "\n"


def _config(folder: Path, tls: tuple[Path, Path] | None) -> str:
    lines = [f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS]
    lines += [
        f"pidfile {folder / 'slapd.pid'}",
        f"argsfile {folder / 'slapd.args'}",
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
    ]
    if tls is not None:
        lines += [f"TLSCertificateFile {tls[0]}", f"TLSCertificateKeyFile {tls[1]}"]
    lines += [
        "database mdb",
        f'suffix "{SUFFIX}"',
        f'rootdn "cn=admin,{SUFFIX}"',
        "rootpw admin-not-used",
        f"directory {folder / 'db'}",
        "maxsize 10485760",
        "access to attrs=userPassword by self write by anonymous auth by * none",
        # The publishing account may write the certificate attributes of people and nothing else.
        f'access to attrs=userCertificate,userSMIMECertificate by dn.exact="{PUBLISHER_DN}" write '
        f'by dn.exact="{SERVICE_DN}" read by self read by * none',
        f'access to * by dn.exact="{SERVICE_DN}" read by dn.exact="{PUBLISHER_DN}" read by self read by * none',
    ]
    return "\n".join(lines) + "\n"


def _server_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA and a 127.0.0.1 server certificate (the names ldap3 checks)."""
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test LDAP CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = folder / "server.pem", folder / "server.key", folder / "ca.pem"
    paths[0].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    paths[1].chmod(0o600)
    paths[2].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return paths


@contextmanager
def running_slapd(folder: Path, *, tls: bool = False, port: int | None = None) -> Iterator[Slapd]:
    """Start slapd on a free (or the given) 127.0.0.1 port with a fresh database; stop it when the block ends."""
    if shutil.which("slapd") is None and not Path("/usr/sbin/slapd").exists():
        raise FileNotFoundError("slapd")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db").mkdir()
    certificate = _server_certificate(folder) if tls else None
    config = folder / "slapd.conf"
    config.write_text(_config(folder, (certificate[0], certificate[1]) if certificate else None))
    (folder / "data.ldif").write_text(_ldif())
    slapadd = shutil.which("slapadd") or "/usr/sbin/slapadd"
    subprocess.run(
        [slapadd, "-f", str(config), "-l", str(folder / "data.ldif")], check=True, capture_output=True
    )
    port = port or free_port()
    url = f"ldap://127.0.0.1:{port}/"
    log = (folder / "slapd.log").open("w")
    slapd = shutil.which("slapd") or "/usr/sbin/slapd"
    process = subprocess.Popen([slapd, "-f", str(config), "-h", url, "-d", "0"], stdout=log, stderr=log)
    try:
        _wait_for_port(port, process, folder / "slapd.log")
        yield Slapd(url=url.rstrip("/"), port=port, ca_file=certificate[2] if certificate else None)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"slapd exited early:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # readiness polling
    raise AssertionError(f"slapd did not listen on {port}:\n{log.read_text()}")
