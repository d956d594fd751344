"""OCSP answers per second, driven by `hey`: campusca against `openssl ocsp` and against a bare Starlette route,
each Python app under uvicorn and under granian, and nginx serving the same bytes as the native ceiling.

All answer the same nonce-less request (a good certificate) POSTed by hey: campusca (`serve`, BENCH_WORKERS
workers, uvicorn) from its pre-produced answers; the same app (`create_app_from_environment`, the factory
`serve` hands uvicorn) under `granian --interface asgi --workers N`; `openssl ocsp -multi N` from the same
index with the same responder key; and a bare Starlette route returning the very bytes campusca answers,
under each server with the same worker count: the floor for Python. Both servers write an access log, as
`campusca serve` does. Keep-alive and a new connection per request (`hey -disable-keepalive`, as openssl's
client and most OCSP stacks do); openssl's responder is measured with new connections only (it answers one
request per connection). nginx (when installed: Debian nginx-light) answers the same POST with the same
bytes from a file, N worker processes, access log on: what a native server reaches on this machine with
this load generator, which bounds any "x times openssl" target. Prints each rate and the ratios
(docs/ocsp.md has the figures and the choice).

    .venv/bin/python bench/ocsp.py [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from _common import REPO, CaHome, free_port, serving, temporary_ca, wait_for_log, wait_for_port, workers
from _hey import hey
from campusca.config import load_settings
from campusca.keys import KeyType, generate_private_key
from campusca.pki.crl import RevocationReason
from campusca.pki.ocsp import issuer_hashes
from campusca.services.authority import open_authority
from campusca.services.ca.issuance import issue_certificate
from campusca.services.ca.revocation import revoke_certificate

SERVERS = ("uvicorn", "granian")
_WARM_UP_ROUNDS = 10
_WARM_SLOWEST_SECONDS = 0.5


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


@contextmanager
def openssl_responder(workdir: Path, processes: int) -> Iterator[str]:
    port = free_port()
    command = ["openssl", "ocsp", "-index", "index.txt", "-port", str(port), "-rsigner", "rsigner.pem"]
    command += [
        "-rkey",
        "rkey.pem",
        "-CA",
        "issuer.pem",
        "-multi",
        str(processes),
        "-ignore_err",
        "-nmin",
        "60",
    ]
    with (workdir / "openssl.log").open("w") as log:
        responder = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    try:
        # Not a TCP probe: openssl 3.0's responder spins on a connection closed without a request.
        # "ACCEPT" is printed once the socket listens; early requests wait in its backlog.
        wait_for_log(workdir / "openssl.log", "ACCEPT")
        yield f"http://127.0.0.1:{port}/"
    finally:
        responder.kill()  # with -multi, SIGTERM leaves the parent waiting on its children
        responder.wait()


def server_command(
    server: str, target: str, port: int, processes: int, *, factory: bool = False
) -> list[str]:
    """`target` under `server` (uvicorn or granian) on 127.0.0.1:port, with an access log either way."""
    if server == "uvicorn":
        command = [sys.executable, "-m", "uvicorn", target, "--port", str(port), "--workers", str(processes)]
        return command + (["--factory"] if factory else [])
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--port", str(port)]
    command += ["--workers", str(processes), "--access-log"]
    return command + (["--factory"] if factory else []) + [target]


@contextmanager
def asgi_server(command: list[str], env: dict[str, str], log_path: Path, port: int) -> Iterator[None]:
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=REPO / "bench", env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=60)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextmanager
def bare_starlette(answer: Path, processes: int, server: str) -> Iterator[str]:
    """The bare route under `server --workers <processes>`; yields its URL."""
    port = free_port()
    env = {**os.environ, "BARE_OCSP_RESPONSE": str(answer)}
    # With the server's access log on, like `campusca serve`, into a file like campusca's serve.log.
    with asgi_server(
        server_command(server, "_bare_ocsp:app", port, processes), env, answer.parent / "bare.log", port
    ):
        yield f"http://127.0.0.1:{port}/ocsp"


_NGINX_CONFIG = """user root;
worker_processes {processes};
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log {root}/access.log;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location = /ocsp {{
      root {root};
      default_type application/ocsp-response;
      error_page 405 =200 $uri;  # a POST to a file: answered with the file, as a GET would be
    }}
  }}
}}
"""


@contextmanager
def nginx_static(answer: Path, processes: int) -> Iterator[str]:
    """nginx answering POST /ocsp with `answer`'s bytes; yields its URL."""
    root = answer.parent / "nginx"
    root.mkdir()
    shutil.copyfile(answer, root / "ocsp")
    port = free_port()
    (root / "nginx.conf").write_text(_NGINX_CONFIG.format(processes=processes, root=root, port=port))
    command = ["nginx", "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"]
    with (root / "stderr.log").open("w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/ocsp"
    finally:
        server.terminate()
        server.wait(timeout=15)


@contextmanager
def campusca_on_granian(ca: CaHome, processes: int) -> Iterator[str]:
    """campusca's own app (the factory `campusca serve` hands uvicorn) under granian; yields its base URL."""
    port = free_port()
    env = {**ca.env(), "PYTHONPATH": os.pathsep.join(sys.path)}
    target = "campusca.web.app:create_app_from_environment"
    command = server_command("granian", target, port, processes, factory=True)
    with asgi_server(command, env, ca.home / "granian.log", port):
        yield f"http://127.0.0.1:{port}"


def rate(url: str, body: Path, *, requests: int, concurrency: int, keepalive: bool) -> float:
    args = {"requests": requests, "concurrency": concurrency, "method": "POST", "body_file": body}
    args["content_type"] = "application/ocsp-request"
    # Warm up until no request waits on a worker still loading the app: granian accepts connections in
    # every worker before its Python app is loaded, so the first ones wait seconds on a late worker.
    for _ in range(_WARM_UP_ROUNDS):
        warm = hey(url, **{**args, "requests": max(100, requests // 10)}, disable_keepalive=not keepalive)
        if warm.slowest_seconds < _WARM_SLOWEST_SECONDS:
            break
    result = hey(url, **args, disable_keepalive=not keepalive)  # type: ignore[arg-type]
    expected = requests // concurrency * concurrency  # hey sends n/c requests from each of c workers
    if result.count(200) != expected:
        raise SystemExit(f"{url}: only {result.count(200)} of {expected} answered 200: {result.statuses}")
    return result.requests_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--certificates", type=int, default=40)
    args = parser.parse_args()
    n = workers()
    figures: dict[tuple[str, str, bool], float] = {}
    with temporary_ca() as ca:
        progress("issuing and revoking test certificates")
        good, revoked = populate(ca.home, args.certificates)
        workdir = ca.home / "openssl-ocsp"
        workdir.mkdir()
        write_openssl_files(ca.home, good, revoked, workdir)
        issuer = x509.load_pem_x509_certificate((workdir / "issuer.pem").read_bytes())
        body = workdir / "request.der"
        body.write_bytes(build_requests(issuer, good[:1], 1)[0])
        load = {"requests": args.requests, "concurrency": args.concurrency}
        progress(f"campusca serve --workers {n} (uvicorn)")
        with serving(ca, workers=n) as url:
            for keepalive in (True, False):
                figures[("campusca", "uvicorn", keepalive)] = rate(
                    f"{url}/ocsp", body, keepalive=keepalive, **load
                )
            import httpx

            answer = workdir / "answer.der"
            answer.write_bytes(httpx.post(f"{url}/ocsp", content=body.read_bytes()).content)
        progress(f"campusca's app, granian --workers {n}")
        with campusca_on_granian(ca, n) as url:
            for keepalive in (True, False):
                figures[("campusca", "granian", keepalive)] = rate(
                    f"{url}/ocsp", body, keepalive=keepalive, **load
                )
        for server in SERVERS:
            progress(f"bare Starlette route, {server} --workers {n}")
            with bare_starlette(answer, n, server) as url:
                for keepalive in (True, False):
                    figures[("starlette", server, keepalive)] = rate(url, body, keepalive=keepalive, **load)
        progress(f"openssl ocsp -multi {n}")
        with openssl_responder(workdir, n) as url:
            figures[("openssl", "", False)] = rate(url, body, keepalive=False, **load)
        if shutil.which("nginx") is not None:
            progress(f"nginx, {n} worker processes, the same bytes from a file")
            with nginx_static(answer, n) as url:
                for keepalive in (True, False):
                    figures[("nginx", "", keepalive)] = rate(url, body, keepalive=keepalive, **load)
        else:
            progress("nginx is not installed (Debian nginx-light): no native ceiling")
    report(figures, n, args.requests, args.concurrency)


def report(figures: dict[tuple[str, str, bool], float], n: int, requests: int, concurrency: int) -> None:
    print(f"OCSP, one good certificate, no nonce; {n} processes each; hey -n {requests} -c {concurrency}")
    print("(figures from a loaded, shared 2-core machine: read the ratios)")
    for keepalive in (True, False):
        print("keep-alive:" if keepalive else "new connection per request:")
        for server in SERVERS:
            ours, floor = figures[("campusca", server, keepalive)], figures[("starlette", server, keepalive)]
            print(f"  campusca on {server:<10}{ours:8.0f} answers/s   campusca/bare route {ours / floor:.2f}")
        for server in SERVERS:
            print(f"  bare route on {server:<8}{figures[('starlette', server, keepalive)]:8.0f} answers/s")
        ratios = {
            what: figures[(what, "granian", keepalive)] / figures[(what, "uvicorn", keepalive)]
            for what in ("campusca", "starlette")
        }
        print(f"  granian/uvicorn: campusca {ratios['campusca']:.2f}, bare route {ratios['starlette']:.2f}")
        if ("openssl", "", keepalive) in figures:
            theirs = figures[("openssl", "", keepalive)]
            versus = ", ".join(
                f"{server} {figures[('campusca', server, keepalive)] / theirs:.2f}" for server in SERVERS
            )
            print(f"  {'openssl ocsp':<22}{theirs:8.0f} answers/s   campusca/openssl: {versus}")
        if ("nginx", "", keepalive) in figures:
            native = figures[("nginx", "", keepalive)]
            line = f"  {'nginx (native)':<22}{native:8.0f} answers/s   campusca on uvicorn/nginx: "
            line += f"{figures[('campusca', 'uvicorn', keepalive)] / native:.2f}"
            if ("openssl", "", keepalive) in figures:
                line += f", nginx/openssl: {native / figures[('openssl', '', keepalive)]:.2f}"
            print(line)


if __name__ == "__main__":
    main()
