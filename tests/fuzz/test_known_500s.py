"""The inputs that answered 500 before (issue 9): each now gets an in-protocol or 4xx answer."""

from __future__ import annotations

import base64

import pytest
from asn1crypto import ocsp as asn1_ocsp
from cryptography.x509 import ocsp

from campusca.pki.ocsp import issuer_hashes
from tests.fuzz.site import FuzzSite

TOO_LARGE_ID = "99999999999999999999"


def _ocsp_request(site: FuzzSite, serial: int) -> bytes:
    name_hash, key_hash = issuer_hashes(site.issuing)
    cert_id = {
        "hash_algorithm": {"algorithm": "sha1"},
        "issuer_name_hash": name_hash,
        "issuer_key_hash": key_hash,
        "serial_number": serial,
    }
    return asn1_ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}}).dump()


def _ocsp_status(body: bytes) -> ocsp.OCSPResponseStatus:
    return ocsp.load_der_ocsp_response(body).response_status


@pytest.mark.parametrize("serial", [-5, -(2**159)], ids=["fail-small-negative", "fail-large-negative"])
def test_ocsp_negative_serial_is_malformed_request_by_post_and_get(fuzz_site: FuzzSite, serial: int) -> None:
    der = _ocsp_request(fuzz_site, serial)
    posted = fuzz_site.client.post(
        f"{fuzz_site.url}/ocsp", content=der, headers={"Content-Type": "application/ocsp-request"}
    )
    fetched = fuzz_site.client.get(f"{fuzz_site.url}/ocsp/{base64.b64encode(der).decode()}")
    for answer in (posted, fetched):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/ocsp-response"
        assert _ocsp_status(answer.content) is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_ocsp_serial_beyond_159_bits_is_unknown(fuzz_site: FuzzSite) -> None:
    answer = fuzz_site.client.post(f"{fuzz_site.url}/ocsp", content=_ocsp_request(fuzz_site, 2**200))
    response = ocsp.load_der_ocsp_response(answer.content)
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.UNKNOWN


ID_ROUTES = [
    ("GET", "/api/v1/recovery/requests/{id}", None),
    ("POST", "/api/v1/recovery/requests/{id}/approve", {}),
    ("POST", "/api/v1/recovery/requests/{id}/reject", {}),
    ("POST", "/api/v1/recovery/requests/{id}/release", {"password": "a-long-password"}),
    ("POST", "/api/v1/recovery/requests/{id}/close-case", None),
    ("POST", "/api/v1/invitations/{id}/cancel", None),
    ("POST", "/api/v1/scep/enrollments/{id}/approve", None),
    ("POST", "/api/v1/scep/enrollments/{id}/reject", {}),
]


@pytest.mark.parametrize(("method", "route", "body"), ID_ROUTES, ids=[r[1] for r in ID_ROUTES])
@pytest.mark.parametrize("record_id", [TOO_LARGE_ID, "0", "-1"], ids=["fail-huge", "fail-zero", "fail-neg"])
def test_out_of_range_path_id_is_422_json(
    fuzz_site: FuzzSite, method: str, route: str, body: dict[str, str] | None, record_id: str
) -> None:
    answer = fuzz_site.client.request(
        method,
        fuzz_site.url + route.format(id=record_id),
        json=body,
        headers={"Authorization": f"Bearer {fuzz_site.tokens['admin']}"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/json")


def test_device_lookup_by_too_large_numeric_ref_is_not_found(fuzz_site: FuzzSite) -> None:
    answer = fuzz_site.client.get(
        f"{fuzz_site.url}/api/v1/devices/{TOO_LARGE_ID}",
        headers={"Authorization": f"Bearer {fuzz_site.tokens['admin']}"},
    )
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "subject",
    ["x" * 65, "CN=" + "x" * 65, "", "C=XYZ", "1.2.3=#zz"],
    ids=["fail-bare-cn-65", "fail-rfc4514-cn-65", "fail-empty", "fail-country-3", "fail-bad-hex"],
)
def test_scep_challenge_with_impossible_expected_subject_is_400(fuzz_site: FuzzSite, subject: str) -> None:
    answer = fuzz_site.client.post(
        f"{fuzz_site.url}/api/v1/scep/challenges",
        json={"username": "alice", "expected_subject": subject},
        headers={"Authorization": f"Bearer {fuzz_site.tokens['ra-officer']}"},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_input" and "expected subject" in answer.json()["message"]


@pytest.mark.parametrize("route", ["/api/v1/people", "/api/v1/certificates"])
def test_offset_beyond_64_bits_is_422_json(fuzz_site: FuzzSite, route: str) -> None:
    """Found by `make fuzz`: `?offset=99999999999999999999` overflowed SQLite (500)."""
    answer = fuzz_site.client.get(
        fuzz_site.url + route,
        params={"offset": TOO_LARGE_ID},
        headers={"Authorization": f"Bearer {fuzz_site.tokens['admin']}"},
    )
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_input", answer.text
