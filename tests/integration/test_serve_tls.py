"""`campusca serve --tls-cert F --tls-key F`: https without a proxy, with a server certificate campusca
issued itself (`cert issue --profile server --chain`), verified by openssl and httpx against the root."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from campusca.services.authority import Authority
from tests.support.ca import CaHome, make_csr, rsa_key, start_serve
from tests.support.peers import require_peer

HOST = "localhost"


def _server_files(ca: CaHome, folder: Path) -> tuple[Path, Path]:
    """The documented path: a key and CSR naming the host, then `campusca cert issue --profile server`."""
    key, csr = make_csr(rsa_key(), cn=HOST, dns=(HOST,))
    key_file, csr_file, chain_file = folder / "server.key", folder / "server.csr", folder / "server-chain.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    csr_file.write_bytes(csr)
    ca.cli(
        "cert", "issue", "--profile", "server", "--csr", str(csr_file), "--chain", "--out", str(chain_file)
    )
    return chain_file, key_file


def _tls_context(root: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(root))


@contextmanager
def _serving_https(ca: CaHome, *args: str, root: Path) -> Iterator[str]:
    url = f"https://127.0.0.1:{ca.port}"

    def healthy() -> bool:
        with httpx.Client(verify=_tls_context(root)) as client:
            return client.get(url + "/healthz", extensions={"sni_hostname": HOST}).status_code == 200

    process = start_serve(ca, args=args, log_name="serve-tls.log", is_healthy=healthy)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_serve_speaks_https_with_a_server_certificate_it_issued(
    ca: CaHome, authority: Authority, tmp_path: Path
) -> None:
    require_peer("openssl")
    chain_file, key_file = _server_files(ca, tmp_path)
    leaf, issuing = x509.load_pem_x509_certificates(chain_file.read_bytes())
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == [HOST]
    assert (
        ExtendedKeyUsageOID.SERVER_AUTH
        in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
    assert issuing == authority.chain()[0]
    root = tmp_path / "root.pem"
    root.write_bytes(authority.chain()[-1].public_bytes(serialization.Encoding.PEM))
    with _serving_https(ca, "--tls-cert", str(chain_file), "--tls-key", str(key_file), root=root) as url:
        port = url.rsplit(":", 1)[1]
        handshake = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", HOST,
             "-verify_hostname", HOST, "-CAfile", str(root), "-verify_return_error"],
            input="", capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert "Verify return code: 0 (ok)" in handshake.stdout, handshake.stdout + handshake.stderr
        with httpx.Client(verify=_tls_context(root)) as client:
            home = client.get(url + "/", extensions={"sni_hostname": HOST})
            assert home.status_code == 200 and "Example University" in home.text
        with httpx.Client(
            verify=_tls_context(root)
        ) as client:  # a new connection: the pool keys on the address
            try:
                client.get(url + "/", extensions={"sni_hostname": "not-the-host.example"})
                raise AssertionError("a name the certificate does not carry must not verify")
            except httpx.ConnectError as refused:
                assert "CERTIFICATE_VERIFY_FAILED" in str(refused)


def test_serve_takes_the_files_from_the_settings_too(
    ca: CaHome, authority: Authority, tmp_path: Path
) -> None:
    chain_file, key_file = _server_files(ca, ca.home)  # relative setting paths are in the data directory
    with (ca.home / "campusca.toml").open("a") as toml:
        toml.write(f'tls_cert = "{chain_file.name}"\ntls_key = "{key_file.name}"\n')
    root = tmp_path / "root.pem"
    root.write_bytes(authority.chain()[-1].public_bytes(serialization.Encoding.PEM))
    with _serving_https(ca, root=root) as url, httpx.Client(verify=_tls_context(root)) as client:
        assert client.get(url + "/healthz", extensions={"sni_hostname": HOST}).json() == {"status": "ok"}


def test_a_wrong_tls_setup_is_one_line_and_nothing_starts(ca: CaHome, tmp_path: Path) -> None:
    chain_file, _ = _server_files(ca, tmp_path)
    other_key = tmp_path / "other.key"
    other_key.write_bytes(
        rsa_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    only_cert = ca.cli("serve", "--tls-cert", str(chain_file), check=False)
    assert only_cert.returncode == 1 and "needs both --tls-cert and --tls-key" in only_cert.stderr
    mismatch = ca.cli("serve", "--tls-cert", str(chain_file), "--tls-key", str(other_key), check=False)
    assert mismatch.returncode == 1 and "not a PEM certificate and its unencrypted key" in mismatch.stderr
    assert "Traceback" not in mismatch.stderr
    missing = ca.cli(
        "serve", "--tls-cert", str(tmp_path / "none.pem"), "--tls-key", str(other_key), check=False
    )
    assert missing.returncode == 1 and "is not a readable file" in missing.stderr
