"""Bob and Mary with real clients: PKCS#12 from `campusca smime issue` in gpgsm and openssl, both directions,
revocation checked by gpgsm's dirmngr and by openssl against the CRL campusca serves, and Mary's lost-key
recovery read back with openssl."""

from __future__ import annotations

import email
import email.policy
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from campusca.config import load_settings
from campusca.keys import KeyType
from campusca.pki.pkcs12 import load_pkcs12
from campusca.services.demo import add_demo_data
from campusca.services.setup import initialise
from campusca.smime._mime import base64_body, multipart_parts, parse_entity
from tests.assertions import assert_ocsp_status
from tests.integration.escrow.conftest import FAST_KEYS
from tests.support.ca import CaHome, free_port, serving, write_public_url
from tests.support.peers import require_peer

pytestmark = pytest.mark.interop

PW = {"bob": "bob keeps his file safe", "mary": "mary keeps this file safe"}
BODY = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHello, the minutes are attached.\r\n"


@dataclass
class Site:
    """A served campusca with escrow on, Bob's and Mary's files, and their gpgsm homes."""

    ca: CaHome
    url: str
    work: Path
    homes: dict[str, Path]  # one GNUPGHOME per person, as on their own machines

    def gpgsm(
        self, who: str, *args: str, passphrase: str | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        batch = (
            ["--batch", "--pinentry-mode", "loopback", "--passphrase-fd", "0"] if passphrase else ["--batch"]
        )
        return subprocess.run(
            ["gpgsm", *batch, *args],
            input=(passphrase + "\n").encode() if passphrase else None,
            capture_output=True,
            env={"GNUPGHOME": str(self.homes[who]), "PATH": "/usr/bin:/bin", "LC_ALL": "C"},
            timeout=120,
            check=False,
        )

    def fresh_crls(self, who: str) -> None:
        """dirmngr caches CRLs until nextUpdate: stop it and drop its cache so it fetches them again."""
        env = {"GNUPGHOME": str(self.homes[who]), "PATH": "/usr/bin:/bin"}
        subprocess.run(
            ["gpgconf", "--kill", "dirmngr"], env=env, capture_output=True, timeout=30, check=False
        )
        shutil.rmtree(self.homes[who] / "crls.d", ignore_errors=True)

    def openssl(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["openssl", *args], capture_output=True, timeout=120, check=False, cwd=self.work
        )

    def pem_pair(self, p12: str, password: str, stem: str) -> tuple[Path, Path]:
        contents = load_pkcs12((self.work / p12).read_bytes(), password.encode())
        return _write_pair(self.work, stem, contents.key, contents.certificate)

    def crl_bundle(self) -> Path:
        pems = [(self.work / "chain.pem").read_bytes()]
        for slug in ("root", "issuing", "smime"):  # S/MIME certificates come from the S/MIME CA
            crl = x509.load_der_x509_crl(httpx.get(f"{self.url}/crl/{slug}.crl").content)
            pems.append(crl.public_bytes(serialization.Encoding.PEM))
        (self.work / "trust+crls.pem").write_bytes(b"".join(pems))
        return self.work / "trust+crls.pem"


def _write_pair(directory: Path, stem: str, key: object, certificate: x509.Certificate) -> tuple[Path, Path]:
    key_path, cert_path = directory / f"{stem}.key", directory / f"{stem}.pem"
    key_path.write_bytes(
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_peer("openssl", "gpgsm", "gpgconf", "dirmngr")
    base = tmp_path_factory.mktemp("smime-interop")
    # A CA of its own, made after the port is known: dirmngr also fetches the root's CRL from the URL in
    # the issuing CA certificate, so that certificate must name the port this test serves on.
    ca = CaHome(home=base / "home", port=free_port())
    ca.home.mkdir()
    write_public_url(ca.home, ca.port)
    with (ca.home / "campusca.toml").open("a") as handle:
        handle.write(FAST_KEYS)
    authority, _ = initialise(
        load_settings(ca.home), org_name="Example University", key_type=KeyType.RSA_2048
    )
    add_demo_data(authority)
    authority.db.dispose()
    work = base / "work"
    work.mkdir()
    # gpg-agent's socket lives in GNUPGHOME; Unix socket paths are limited to 107 bytes.
    homes = {name: Path(tempfile.mkdtemp(prefix="gsm", dir="/tmp")) for name in ("bob", "mary")}
    try:
        with serving(ca) as url:
            ca.cli("escrow", "agent", "add", "rita", "--org", "Example University")
            ca.cli("escrow", "policy", "--org", "Example University", "--enabled", "--mode", "simple")
            for name in ("bob", "mary"):
                out = str(work / f"{name}.p12")
                ca.cli("smime", "issue", name, "--password", PW[name], "--legacy", "--split", "--out", out)
            setup = Site(ca, url, work, homes)
            for name in homes:
                _prepare_gpgsm(setup, name)
            yield setup
    finally:
        for home in homes.values():
            env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
            subprocess.run(
                ["gpgconf", "--kill", "all"], env=env, capture_output=True, timeout=30, check=False
            )
            shutil.rmtree(home, ignore_errors=True)


def _prepare_gpgsm(site: Site, name: str) -> None:
    """Trust our root, import the person's legacy PKCS#12 files; CRL checks stay on (dirmngr fetches our CRLs)."""
    home = site.homes[name]
    (home / "gpg-agent.conf").write_text("allow-loopback-pinentry\n")
    (home / "policies.txt").write_text("2.23.140.1.5.1.3\n")
    chain = httpx.get(f"{site.url}/ca/chain.pem").content
    (site.work / "chain.pem").write_bytes(chain)
    assert site.gpgsm(name, "--import", str(site.work / "chain.pem")).returncode == 0
    listing = site.gpgsm(name, "--with-colons", "--list-keys", "Root CA").stdout.decode()
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    (home / "trustlist.txt").write_text(f"{fingerprint} S relax\n")
    for part in ("signing", "encryption"):
        result = site.gpgsm(name, "--import", str(site.work / f"{name}-{part}.p12"), passphrase=PW[name])
        assert result.returncode == 0, result.stderr
    # The correspondent's certificates come from the public directory, as a mail client keeps them.
    other = "mary" if name == "bob" else "bob"
    for purpose in ("signing", "encryption"):
        assert (
            site.gpgsm(
                name, "--import", str(_directory_pem(site, f"{other}@example.edu", purpose))
            ).returncode
            == 0
        )


def _der_of(mime: bytes) -> bytes:
    payload = email.message_from_bytes(mime, policy=email.policy.compat32).get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def _directory_pem(site: Site, address: str, purpose: str) -> Path:
    found = httpx.get(f"{site.url}/directory/certificates", params={"email": address}).json()
    [entry] = [c for c in found["certificates"] if c["purpose"] == purpose]
    path = site.work / f"{address}-{purpose}.pem"
    path.write_bytes(httpx.get(entry["pem_url"]).content)
    return path


def _as_smime_mime(der: bytes, sender: str, recipient: str, smime_type: str = "enveloped-data") -> bytes:
    return (
        f"From: {sender}\r\nTo: {recipient}\r\nSubject: minutes\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: application/pkcs7-mime; smime-type={smime_type}; name="smime.p7m"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64_body(der)


def test_bob_signs_and_encrypts_with_openssl_mary_reads_it_with_gpgsm_and_campusca(site: Site) -> None:
    bob_key, bob_cert = site.pem_pair("bob-signing.p12", PW["bob"], "bob-sign")
    _, bob_enc = site.pem_pair("bob-encryption.p12", PW["bob"], "bob-enc")
    _, mary_enc = site.pem_pair("mary-encryption.p12", PW["mary"], "mary-enc")
    (site.work / "part.txt").write_bytes(BODY)
    signed = site.openssl(
        "cms", "-sign", "-in", "part.txt", "-signer", str(bob_cert), "-inkey", str(bob_key),
        "-certfile", "chain.pem", "-out", "signed.eml",
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    encrypted = site.openssl(
        "cms", "-encrypt", "-aes256", "-in", "signed.eml", "-out", "bob-to-mary.eml",
        "-from", "bob@example.edu", "-to", "mary@example.edu", "-subject", "minutes", str(mary_enc), str(bob_enc),
    )  # fmt: skip
    assert encrypted.returncode == 0, encrypted.stderr
    message = site.work / "bob-to-mary.eml"
    (site.work / "bob-to-mary.p7m").write_bytes(_der_of(message.read_bytes()))
    # Mary with gpgsm: decrypt, then verify Bob's detached signature (CRLs fetched by dirmngr).
    decrypted = site.gpgsm(
        "mary", "--status-fd", "2", "--decrypt", str(site.work / "bob-to-mary.p7m"), passphrase=PW["mary"]
    )
    # gpgsm 2.2 logs "No secret key" for Bob's recipient info and then exits 2 even though it decrypted
    # with Mary's: the status line is the verdict (KMail shows such messages fine).
    assert b"[GNUPG:] DECRYPTION_OKAY" in decrypted.stderr, decrypted.stderr
    content, signature = multipart_parts(parse_entity(decrypted.stdout))
    (site.work / "content.txt").write_bytes(content)
    (site.work / "content.p7s").write_bytes(_der_of(signature))
    verified = site.gpgsm(
        "mary", "--status-fd", "1", "--verify", str(site.work / "content.p7s"), str(site.work / "content.txt")
    )
    assert verified.returncode == 0 and b"TRUST_FULLY" in verified.stdout, verified.stderr
    # Mary with campusca's own CLI: decrypt with her PKCS#12, verify against our CRLs.
    plain = site.work / "campusca-plain.eml"
    site.ca.cli("smime", "decrypt", str(message), "--p12", str(site.work / "mary.p12"),
                "--password", PW["mary"], "--out", str(plain))  # fmt: skip
    result = site.ca.cli("smime", "verify", str(plain), "--json")
    assert '"signer": "bob@example.edu"' in result.stdout


def test_mary_signs_and_encrypts_with_gpgsm_bob_reads_it_with_openssl_and_campusca(site: Site) -> None:
    (site.work / "mary-part.txt").write_bytes(BODY)
    signed = site.gpgsm(
        "mary", "-u", "mary@example.edu", "--include-certs", "-1", "--detach-sign",
        "-o", str(site.work / "mary-part.p7s"), str(site.work / "mary-part.txt"), passphrase=PW["mary"],
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    boundary = "b-mary-1"
    multipart = (
        (
            "MIME-Version: 1.0\r\n"  # the entity Mary's client encrypts: the outer From/To stay outside
            f'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="{boundary}"'
            f"\r\n\r\n--{boundary}\r\n"
        ).encode()
        + BODY
        + (
            f"\r\n--{boundary}\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        + base64_body((site.work / "mary-part.p7s").read_bytes())
        + f"\r\n--{boundary}--\r\n".encode()
    )
    (site.work / "mary-signed.eml").write_bytes(multipart)
    encrypted = site.gpgsm(
        "mary", "--encrypt", "-r", "bob@example.edu", "-r", "mary@example.edu",
        "-o", str(site.work / "mary-to-bob.p7m"), str(site.work / "mary-signed.eml"),
    )  # fmt: skip
    assert encrypted.returncode == 0, encrypted.stderr
    der = (site.work / "mary-to-bob.p7m").read_bytes()
    assert der.startswith(b"\x30\x80")  # BER, indefinite lengths
    # Bob with openssl: decrypt, then verify with the served CRLs (revocation checked).
    bob_key, bob_cert = site.pem_pair("bob-encryption.p12", PW["bob"], "bob-enc2")
    decrypted = site.openssl("cms", "-decrypt", "-inform", "DER", "-in", "mary-to-bob.p7m",
                             "-recip", str(bob_cert), "-inkey", str(bob_key), "-out", "mary-inner.eml")  # fmt: skip
    assert decrypted.returncode == 0, decrypted.stderr
    verified = site.openssl("cms", "-verify", "-in", "mary-inner.eml", "-CAfile", str(site.crl_bundle()),
                            "-crl_check", "-out", "mary-content.txt")  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    assert b"the minutes are attached" in (site.work / "mary-content.txt").read_bytes()
    # Bob with campusca's own CLI on gpgsm's BER.
    (site.work / "mary-to-bob.eml").write_bytes(
        _as_smime_mime(der, "Mary <mary@example.edu>", "bob@example.edu")
    )
    plain = site.work / "mary-plain.eml"
    site.ca.cli("smime", "decrypt", str(site.work / "mary-to-bob.eml"), "--p12", str(site.work / "bob.p12"),
                "--password", PW["bob"], "--out", str(plain))  # fmt: skip
    assert '"signer": "mary@example.edu"' in site.ca.cli("smime", "verify", str(plain), "--json").stdout


def test_revoked_signer_is_refused_by_gpgsm_dirmngr_openssl_and_campusca(site: Site) -> None:
    alice = str(site.work / "alice.p12")
    site.ca.cli(
        "smime",
        "issue",
        "alice",
        "--password",
        "alice keeps her files safe",
        "--legacy",
        "--split",
        "--out",
        alice,
    )
    imported = site.gpgsm(
        "bob", "--import", str(site.work / "alice-signing.p12"), passphrase="alice keeps her files safe"
    )
    assert imported.returncode == 0, imported.stderr
    (site.work / "alice.txt").write_bytes(BODY)
    signed = site.gpgsm("bob", "-u", "alice@example.edu", "--detach-sign", "-o", str(site.work / "alice.p7s"),
                        str(site.work / "alice.txt"), passphrase="alice keeps her files safe")  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    site.fresh_crls("bob")
    good = site.gpgsm(
        "bob", "--status-fd", "1", "--verify", str(site.work / "alice.p7s"), str(site.work / "alice.txt")
    )
    assert b"TRUST_FULLY" in good.stdout, good.stderr
    serial = load_pkcs12(
        (site.work / "alice-signing.p12").read_bytes(), b"alice keeps her files safe"
    ).certificate.serial_number
    site.ca.cli("cert", "revoke", format(serial, "x"), "--reason", "keyCompromise")
    site.fresh_crls("bob")
    revoked = site.gpgsm(
        "bob", "--status-fd", "1", "--verify", str(site.work / "alice.p7s"), str(site.work / "alice.txt")
    )
    assert revoked.returncode != 0 and b"TRUST_NEVER" in revoked.stdout
    assert b"revoked" in revoked.stderr
    key, cert = site.pem_pair("alice-signing.p12", "alice keeps her files safe", "alice-sign")
    site.openssl(
        "cms", "-sign", "-in", "alice.txt", "-signer", str(cert), "-inkey", str(key), "-out", "alice.eml"
    )
    checked = site.openssl(
        "cms", "-verify", "-in", "alice.eml", "-CAfile", str(site.crl_bundle()), "-crl_check"
    )
    assert checked.returncode != 0 and b"certificate revoked" in checked.stderr
    message = b"From: alice@example.edu\r\n" + (site.work / "alice.eml").read_bytes()
    (site.work / "alice-from.eml").write_bytes(message)
    ours = site.ca.cli("smime", "verify", str(site.work / "alice-from.eml"), check=False)
    assert ours.returncode == 1 and "revoked" in ours.stderr


def test_mary_loses_her_key_and_reads_archived_mail_with_the_recovered_file(site: Site) -> None:
    old_key, old_cert = site.pem_pair("mary-encryption.p12", PW["mary"], "mary-old")
    (site.work / "archived.txt").write_bytes(BODY)
    archived = site.openssl(
        "cms", "-encrypt", "-aes256", "-in", "archived.txt", "-out", "archived.eml", str(old_cert)
    )
    assert archived.returncode == 0, archived.stderr
    request = site.ca.cli_json("recovery", "request", "mary", "--reason", "lost-key")
    assert isinstance(request, dict)
    site.ca.cli("recovery", "approve", str(request["id"]), "--as", "rita")
    recovered = site.work / "mary-recovered.p12"
    site.ca.cli(
        "recovery",
        "release",
        str(request["id"]),
        "--password",
        "recovered keys travel safely",
        "--out",
        str(recovered),
    )
    contents = load_pkcs12(recovered.read_bytes(), b"recovered keys travel safely")
    old_serial = x509.load_pem_x509_certificate(old_cert.read_bytes()).serial_number
    history = {c.serial_number: k for k, c in contents.extra}
    assert old_serial in history
    key_path, cert_path = _write_pair(
        site.work,
        "mary-history",
        history[old_serial],
        next(c for _, c in contents.extra if c.serial_number == old_serial),
    )
    read = site.openssl(
        "cms", "-decrypt", "-in", "archived.eml", "-recip", str(cert_path), "-inkey", str(key_path)
    )
    assert read.returncode == 0 and b"the minutes are attached" in read.stdout, read.stderr
    # The old certificate is revoked in OCSP; the directory now offers the new encryption certificate.
    issuing = x509.load_der_x509_certificate(httpx.get(f"{site.url}/ca/smime.crt").content)
    query = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(x509.load_pem_x509_certificate(old_cert.read_bytes()), issuing, hashes.SHA1())
        .build()
    )
    answer = httpx.post(f"{site.url}/ocsp", content=query.public_bytes(serialization.Encoding.DER),
                        headers={"Content-Type": "application/ocsp-request"})  # fmt: skip
    response = assert_ocsp_status(answer.content, ocsp.OCSPCertStatus.REVOKED)
    assert response.revocation_reason == x509.ReasonFlags.key_compromise
    found = httpx.get(f"{site.url}/directory/certificates", params={"email": "mary@example.edu"}).json()
    [new] = [c for c in found["certificates"] if c["purpose"] == "encryption"]
    assert int(new["serial"], 16) == contents.certificate.serial_number != old_serial
    (site.work / "mary-new.pem").write_bytes(httpx.get(new["pem_url"]).content)
    fresh = site.openssl(
        "cms", "-encrypt", "-aes256", "-in", "archived.txt", "-out", "fresh.eml", "mary-new.pem"
    )
    assert fresh.returncode == 0
    new_key, new_cert = _write_pair(site.work, "mary-new-key", contents.key, contents.certificate)
    read_new = site.openssl(
        "cms", "-decrypt", "-in", "fresh.eml", "-recip", str(new_cert), "-inkey", str(new_key)
    )
    assert read_new.returncode == 0 and b"the minutes are attached" in read_new.stdout
