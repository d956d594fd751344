"""Certificates issued per second over the REST API, against the raw in-process signing rate.

The raw rate signs the same kind of certificate (profile `device`, same issuing key) with
`cryptography` in this process with nothing else around it: the physical limit for the key type.
The REST rate includes HTTP, CSR verification, the database row, the audit record and the
transaction. Prints both and their ratio. Run: `.venv/bin/python bench/issuance.py [--key-type ec-p256]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from _common import make_csr, post_all, serving, temporary_ca, workers
from campusca.config import load_settings
from campusca.pki.certificates import EndEntityRequest, build_end_entity, random_serial
from campusca.pki.profiles import get_profile
from campusca.services.authority import open_authority


def raw_rate(home, count: int) -> float:  # type: ignore[no-untyped-def]
    authority = open_authority(load_settings(home))
    ca = authority.ca("issuing")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    profile = get_profile("device")
    started = time.perf_counter()
    for i in range(count):
        request = EndEntityRequest(
            public_key=key.public_key(),
            subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"device-{i}")]),
            subject_alt_names=(x509.RFC822Name("alice@example.edu"),),
            not_before=authority.now(),
            serial=random_serial(),
        )
        build_end_entity(
            request, profile=profile, issuer_certificate=ca.certificate, issuer_key=ca.key, urls=ca.urls
        )
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--key-type", default="rsa-3072")
    args = parser.parse_args()
    with temporary_ca(args.key_type) as ca:
        token = (
            ca.cli("token", "create", "--role", "ra-officer", "--name", "bench")
            .stdout.strip()
            .splitlines()[-1]
        )
        _, csr = make_csr(cn="bench-device")
        body = json.dumps({"profile": "device", "csr": csr.decode(), "username": "alice"}).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        print(f"… serving with {workers()} workers", file=sys.stderr, flush=True)
        with serving(ca, workers=workers()) as url:
            post_all(f"{url}/api/v1/certificates", [body] * 20, headers=headers, concurrency=args.concurrency)
            api = post_all(
                f"{url}/api/v1/certificates",
                [body] * args.requests,
                headers=headers,
                concurrency=args.concurrency,
            )
        raw = raw_rate(ca.home, args.requests)
    print(
        f"issuing CA key: {args.key_type}, requests: {args.requests}, concurrency: {args.concurrency}, workers: {workers()}"
    )
    print(f"REST API issuance : {api.per_second:8.1f} certificates/s ({api.failures} failures)")
    print(f"raw signing (1 core): {raw:8.1f} certificates/s")
    print(f"ratio REST/raw: {api.per_second / raw:.2f}")


if __name__ == "__main__":
    main()
