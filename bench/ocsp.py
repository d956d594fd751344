"""OCSP answers per second: `campusca serve` against `openssl ocsp` as a responder on the same index.

Both answer the same pre-built requests (a mix of good, revoked and unknown serials, no nonce) sent by
the same load generator on this machine; both sign with the same RSA-2048 responder key. Prints both
rates and their ratio. Run: `.venv/bin/python bench/ocsp.py [--requests N] [--concurrency C]`.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from _common import free_port, post_all, serving, temporary_ca, wait_for_log, workers
from campusca.config import load_settings
from campusca.keys import KeyType, generate_private_key
from campusca.pki.crl import RevocationReason
from campusca.pki.ocsp import issuer_hashes
from campusca.services.authority import open_authority
from campusca.services.ca.issuance import issue_certificate
from campusca.services.ca.revocation import revoke_certificate


def populate(home: Path, count: int) -> tuple[list[int], list[int]]:
    """Issue `count` device certificates and revoke every fourth; returns (good, revoked) serials."""
    authority = open_authority(load_settings(home))
    key = generate_private_key(KeyType.RSA_2048)
    good, revoked = [], []
    with authority.db.write() as session:
        for i in range(count):
            issued = issue_certificate(
                authority,
                session,
                profile_name="server",
                public_key=key.public_key(),
                actor="bench",
                subject=x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"host{i}.example.edu")]),
            )
            (revoked if i % 4 == 0 else good).append(issued.serial)
    for serial in revoked:
        with authority.db.write() as session:
            revoke_certificate(
                authority, session, serial=serial, reason=RevocationReason.KEY_COMPROMISE, actor="bench"
            )
    return good, revoked


def write_openssl_files(home: Path, good: list[int], revoked: list[int], workdir: Path) -> None:
    """index.txt in `openssl ca` format plus the responder certificate, key and issuer in PEM."""
    authority = open_authority(load_settings(home))
    responder = authority.identity("ocsp")
    (workdir / "rsigner.pem").write_bytes(responder.certificate.public_bytes(serialization.Encoding.PEM))
    (workdir / "rkey.pem").write_bytes(
        responder.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (workdir / "issuer.pem").write_bytes(
        authority.ca("issuing").certificate.public_bytes(serialization.Encoding.PEM)
    )
    lines = [f"V\t301231235959Z\t\t{serial:040X}\tunknown\t/CN=good{serial:x}\n" for serial in good]
    lines += [
        f"R\t301231235959Z\t261127000000Z,keyCompromise\t{serial:040X}\tunknown\t/CN=revoked{serial:x}\n"
        for serial in revoked
    ]
    (workdir / "index.txt").write_text("".join(lines))
    (workdir / "index.txt.attr").write_text("unique_subject = no\n")


def build_requests(issuer: x509.Certificate, serials: list[int], count: int) -> list[bytes]:
    name_hash, key_hash = issuer_hashes(issuer)
    rng = random.Random(8894)
    out = []
    for _ in range(count):
        serial = rng.choice(serials)
        builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
            name_hash, key_hash, serial, hashes.SHA1()
        )
        out.append(builder.build().public_bytes(serialization.Encoding.DER))
    return out


def progress(text: str) -> None:
    print(f"… {text}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--certificates", type=int, default=400)
    args = parser.parse_args()
    with temporary_ca() as ca:
        progress("issuing and revoking test certificates")
        good, revoked = populate(ca.home, args.certificates)
        workdir = ca.home / "openssl-ocsp"
        workdir.mkdir()
        write_openssl_files(ca.home, good, revoked, workdir)
        issuer = x509.load_pem_x509_certificate((workdir / "issuer.pem").read_bytes())
        unknown = [random.Random(1).getrandbits(150) for _ in range(len(good) // 10)]
        requests = build_requests(issuer, good + revoked + unknown, args.requests)
        # One request per connection, as OCSP clients (openssl, browsers' stacks) do; openssl's
        # responder also spins on idle keep-alive connections.
        headers = {"Content-Type": "application/ocsp-request", "Connection": "close"}
        n = workers()
        progress(f"campusca serve --workers {n}")
        with serving(ca, workers=n) as url:
            post_all(f"{url}/ocsp", requests[:200], headers=headers, concurrency=args.concurrency)  # warm-up
            ours = post_all(f"{url}/ocsp", requests, headers=headers, concurrency=args.concurrency)
        progress(f"openssl ocsp -multi {n}")
        port = free_port()
        responder = subprocess.Popen(
            [
                "openssl",
                "ocsp",
                "-index",
                "index.txt",
                "-port",
                str(port),
                "-rsigner",
                "rsigner.pem",
                "-rkey",
                "rkey.pem",
                "-CA",
                "issuer.pem",
                "-multi",
                str(n),
                "-ignore_err",
                "-nmin",
                "60",
            ],
            cwd=workdir,
            stdout=(workdir / "openssl.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            # Not a TCP probe: openssl 3.0's responder spins on a connection closed without a request.
            # "ACCEPT" is printed once the socket listens; early requests wait in its backlog.
            wait_for_log(workdir / "openssl.log", "ACCEPT")
            url = f"http://127.0.0.1:{port}/"
            post_all(url, requests[:200], headers=headers, concurrency=args.concurrency)
            theirs = post_all(url, requests, headers=headers, concurrency=args.concurrency)
        finally:
            responder.kill()  # with -multi, SIGTERM leaves the parent waiting on its children
            responder.wait()
    print(f"workers/processes: {n}, requests: {args.requests}, concurrency: {args.concurrency}")
    print(f"campusca serve : {ours.per_second:8.1f} OCSP answers/s ({ours.failures} failures)")
    print(f"openssl ocsp   : {theirs.per_second:8.1f} OCSP answers/s ({theirs.failures} failures)")
    print(f"ratio campusca/openssl: {ours.per_second / theirs.per_second:.2f}")


if __name__ == "__main__":
    main()
