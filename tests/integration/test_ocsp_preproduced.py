"""Pre-produced OCSP answers (RFC 5019 §2.2): kept in memory, yet never older than the status they state."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from prometheus_client import REGISTRY

from campusca.pki.crl import RevocationReason
from campusca.pki.ocsp import issuer_hashes
from campusca.services.authority import Authority
from campusca.services.ca import PreproducedAnswers, issue_from_csr, revoke_by_serial, serving_answers
from campusca.web.background import OcspRefresher
from tests.assertions import assert_ocsp_status
from tests.support.ca import CaHome, free_port, make_csr, serving
from tests.support.peers import require_peer
from tests.support.postgres import two_nodes_on_postgres


def _request(certificate: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _issue(authority: Authority, cn: str = "alice-laptop") -> x509.Certificate:
    _, csr = make_csr(cn=cn)
    return issue_from_csr(
        authority, profile_name="device", csr_bytes=csr, username="alice", actor="test"
    ).certificate


def _get(url: str, request: bytes) -> httpx.Response:
    return httpx.get(f"{url}/ocsp/{quote(base64.b64encode(request).decode(), safe='')}")


@pytest.fixture
def two_serve_processes(ca: CaHome) -> Iterator[list[str]]:
    """Two `campusca serve` processes on the same SQLite database."""
    with ExitStack() as stack:
        second = CaHome(home=ca.home, port=free_port())
        yield [stack.enter_context(serving(ca)), stack.enter_context(serving(second))]


def test_revocation_by_another_process_is_answered_at_once_by_every_serve_process(
    ca: CaHome, authority: Authority, two_serve_processes: list[str]
) -> None:
    certificate = _issue(authority)
    request = _request(certificate, authority.ca("issuing").certificate)
    first = {url: _get(url, request).content for url in two_serve_processes}
    for url, der in first.items():
        assert_ocsp_status(der, ocsp.OCSPCertStatus.GOOD)
        assert _get(url, request).content == der  # pre-produced: the very same signed answer again
        posted = httpx.post(
            f"{url}/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"}
        )
        assert posted.content == der
    ca.cli("cert", "revoke", format(certificate.serial_number, "x"), "--reason", "keyCompromise")
    for url in two_serve_processes:
        response = assert_ocsp_status(_get(url, request).content, ocsp.OCSPCertStatus.REVOKED)
        assert response.revocation_reason is x509.ReasonFlags.key_compromise


def test_nonce_queries_are_signed_afresh_and_not_cacheable(ca: CaHome, authority: Authority) -> None:
    certificate = _issue(authority)
    issuer = authority.ca("issuing").certificate
    with serving(ca) as url:
        answers = []
        for nonce in (b"first nonce 0001", b"second nonce 002"):
            got = httpx.post(f"{url}/ocsp", content=_request(certificate, issuer, nonce))
            assert got.headers["cache-control"] == "no-store"
            response = assert_ocsp_status(got.content, ocsp.OCSPCertStatus.GOOD)
            assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
            answers.append(got.content)
        plain = _get(url, _request(certificate, issuer))
        assert "max-age=" in plain.headers["cache-control"] and plain.headers["etag"]
    assert answers[0] != answers[1]


def _signed(when: str) -> float:
    """How many OCSP answers this process has signed, by when (query, revocation, refresh)."""
    return REGISTRY.get_sample_value("campusca_ocsp_signatures_total", {"when": when}) or 0.0


def test_a_query_re_signs_an_answer_once_only_a_quarter_of_its_validity_is_left(authority: Authority) -> None:
    answers = PreproducedAnswers(authority)
    request = _request(_issue(authority), authority.ca("issuing").certificate)
    first = answers.answer(request)
    assert answers.answer(request) is first
    real_clock = authority.clock
    quarter = (first.next_update - first.this_update) / 4  # the profile's validity (device: 5 minutes)
    authority.clock = lambda: real_clock() + 2 * quarter + timedelta(seconds=1)
    assert answers.answer(request) is first  # half gone: still served (the scheduler's to refresh)
    authority.clock = lambda: real_clock() + 3 * quarter + timedelta(seconds=1)
    again = answers.answer(request)
    assert again.this_update > first.this_update and again.der != first.der
    assert again.next_update - authority.now() > 3 * quarter


def test_a_revocation_pre_produces_the_revoked_answer_and_keeps_the_others(authority: Authority) -> None:
    answers = serving_answers(authority)  # as in a serve process: the revocation's after-commit step finds it
    issuer = authority.ca("issuing").certificate
    certificate, other = _issue(authority), _issue(authority, "bob-laptop")
    request, other_request = _request(certificate, issuer), _request(other, issuer)
    assert_ocsp_status(answers.answer(request).der, ocsp.OCSPCertStatus.GOOD)
    other_good = answers.answer(other_request)
    signed_on_query, pre_produced = _signed("query"), _signed("revocation")
    revoke_by_serial(
        authority, serial=certificate.serial_number, reason=RevocationReason.KEY_COMPROMISE, actor="test"
    )
    assert _signed("revocation") == pre_produced + 1
    revoked = answers.answer(request)
    assert_ocsp_status(revoked.der, ocsp.OCSPCertStatus.REVOKED)
    assert answers.answer(request) is revoked
    assert answers.answer(other_request) is other_good  # the other certificate's answer stayed kept
    assert _signed("query") == signed_on_query  # neither was signed on the request path


def test_the_scheduler_re_signs_a_queried_answer_before_a_quarter_of_its_validity_is_left(
    authority: Authority,
) -> None:
    refresher = OcspRefresher(authority)
    answers = serving_answers(authority)
    issuer = authority.ca("issuing").certificate
    hot, cold = _request(_issue(authority), issuer), _request(_issue(authority, "bob-laptop"), issuer)
    first = answers.answer(hot)
    answers.answer(cold)
    assert answers.answer(hot) is first  # queried since it was signed
    real_clock = authority.clock
    validity = first.next_update - first.this_update
    assert refresher.tick() == 0  # nothing is due yet
    authority.clock = lambda: real_clock() + validity / 2 + timedelta(seconds=1)
    assert refresher.tick() == 1  # the hot one; the cold one is left to go stale
    signed_on_query = _signed("query")
    authority.clock = lambda: real_clock() + validity * 3 / 4 + timedelta(seconds=1)
    refreshed = answers.answer(hot)
    assert (
        refreshed.this_update > first.this_update and refreshed.next_update - authority.now() > validity / 2
    )
    assert_ocsp_status(refreshed.der, ocsp.OCSPCertStatus.GOOD)
    assert _signed("query") == signed_on_query  # the first answer went stale, yet nothing was signed here
    answers.answer(cold)
    assert _signed("query") == signed_on_query + 1  # the cold one was signed again on its next query


def _served_signatures(url: str, when: str) -> float:
    """campusca_ocsp_signatures_total{when} as a one-worker `serve` reports it on /metrics."""
    prefix = f'campusca_ocsp_signatures_total{{when="{when}"}} '
    lines = [line for line in httpx.get(f"{url}/metrics").text.splitlines() if line.startswith(prefix)]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_openssl_gets_the_answer_the_serve_process_pre_produced_when_it_revoked(
    ca: CaHome, authority: Authority, tmp_path: Path
) -> None:
    require_peer("openssl")
    certificate = _issue(authority)
    pem = serialization.Encoding.PEM
    (tmp_path / "leaf.pem").write_bytes(certificate.public_bytes(pem))
    (tmp_path / "issuing.pem").write_bytes(authority.ca("issuing").certificate.public_bytes(pem))
    chain = [authority.ca(slug).certificate.public_bytes(pem) for slug in ("root", "issuing")]
    (tmp_path / "chain.pem").write_bytes(b"".join(chain))
    token = ca.cli("token", "create", "--role", "ra-officer").stdout.strip().splitlines()[-1]
    with serving(ca) as url:  # one worker: the process that revokes is the one that answers
        revoked = httpx.post(
            f"{url}/api/v1/certificates/{certificate.serial_number:x}/revoke",
            json={"reason": "keyCompromise"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert revoked.status_code == 200, revoked.text
        assert _served_signatures(url, "revocation") == 1
        leaf, issuing = str(tmp_path / "leaf.pem"), str(tmp_path / "issuing.pem")
        command = ["openssl", "ocsp", "-url", f"{url}/ocsp", "-issuer", issuing, "-cert", leaf, "-no_nonce"]
        command += ["-CAfile", str(tmp_path / "chain.pem")]
        answered = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert f"{leaf}: revoked" in answered.stdout and "Response verify OK" in answered.stderr, (
            answered.stdout + answered.stderr
        )
        assert _served_signatures(url, "query") == 0  # served as pre-produced, not signed on the request path


def test_kept_answers_are_bounded_by_count_and_unknown_is_never_kept(authority: Authority) -> None:
    small = Authority(
        settings=authority.settings.model_copy(
            update={"ocsp_cache_entries": 2, "ocsp_status_check_ms": 10_000}
        ),
        db=authority.db,
        keys=authority.keys,
    )
    answers = PreproducedAnswers(small)
    issuer = small.ca("issuing").certificate
    requests = [_request(_issue(small, f"device-{i}"), issuer) for i in range(3)]
    for request in requests:
        answers.answer(request)
    assert answers.cached(requests[0]) is None  # the least recently used one went
    assert answers.cached(requests[2]) is not None
    never_issued = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(*issuer_hashes(issuer), 0x1234567, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    assert answers.answer(never_issued).status.value == "unknown"
    assert answers.cached(never_issued) is None


@pytest.mark.interop
def test_revocation_on_one_postgresql_node_reaches_the_other_nodes_kept_answers(tmp_path: Path) -> None:
    with two_nodes_on_postgres(tmp_path / "home") as (first, second):
        certificate = _issue(first)
        request = _request(certificate, second.ca("issuing").certificate)
        answers = PreproducedAnswers(second)
        good = answers.answer(request)
        assert_ocsp_status(good.der, ocsp.OCSPCertStatus.GOOD)
        assert answers.answer(request) is good
        revoke_by_serial(
            first, serial=certificate.serial_number, reason=RevocationReason.AFFILIATION_CHANGED, actor="test"
        )
        assert answers.cached(request) is None
        assert_ocsp_status(answers.answer(request).der, ocsp.OCSPCertStatus.REVOKED)
