"""OCSP (RFC 6960) by GET and POST: random bytes, odd CertIDs and mutations of a valid request never 5xx."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from hypothesis import given
from hypothesis import strategies as st

from campusca.pki.ocsp import issuer_hashes
from tests.fuzz.mutations import mutated
from tests.fuzz.site import FuzzSite, fuzz_settings

pytestmark = pytest.mark.fuzz

SERIALS = st.one_of(
    st.integers(-(2**64), 2**64), st.integers(-(2**400), 2**400), st.sampled_from([0, -1, 2**159, 2**160 - 1])
)
HASHES = st.sampled_from(["sha1", "sha256", "sha384", "sha512", "md5", "sha224"])


def _valid_request(site: FuzzSite, *, nonce: bool) -> bytes:
    name_hash, key_hash = issuer_hashes(site.issuing)
    builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        name_hash, key_hash, site.existing_serial, hashes.SHA1()
    )
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(b"fuzz-nonce-0123456789"), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


@st.composite
def odd_cert_ids(draw: st.DrawFn, site: FuzzSite) -> bytes:
    """A well-formed OCSPRequest whose CertID fields and nonce take odd values."""
    algorithm = draw(HASHES)
    name_hash, key_hash = issuer_hashes(site.issuing)
    real = draw(st.booleans())
    cert_id = {
        "hash_algorithm": {"algorithm": algorithm},
        "issuer_name_hash": name_hash if real else draw(st.binary(max_size=70)),
        "issuer_key_hash": key_hash if real else draw(st.binary(max_size=70)),
        "serial_number": draw(SERIALS),
    }
    tbs: dict[str, object] = {"request_list": [{"req_cert": cert_id}] * draw(st.integers(1, 3))}
    if draw(st.booleans()):
        nonce = draw(st.binary(max_size=300))
        tbs["request_extensions"] = [{"extn_id": "nonce", "extn_value": nonce}]
    return asn1_ocsp.OCSPRequest({"tbs_request": tbs}).dump()


def _bodies(site: FuzzSite) -> st.SearchStrategy[bytes]:
    seeds = [_valid_request(site, nonce=False), _valid_request(site, nonce=True)]
    return st.one_of(
        st.binary(max_size=600),
        st.sampled_from(seeds).flatmap(mutated),
        odd_cert_ids(site),
    )


def test_ocsp_post_never_answers_5xx(fuzz_site: FuzzSite) -> None:
    content_types = st.sampled_from(["application/ocsp-request", "text/plain", "", "application/json"])

    @given(body=_bodies(fuzz_site), content_type=content_types)
    @fuzz_settings()
    def post(body: bytes, content_type: str) -> None:
        fuzz_site.send("ocsp-post", "POST", "/ocsp", content=body, headers={"Content-Type": content_type})

    post()
    fuzz_site.assert_target_clean("ocsp-post")


@st.composite
def get_paths(draw: st.DrawFn, bodies: st.SearchStrategy[bytes]) -> str:
    """The GET form: base64 (std or urlsafe, escaped or not) of a body, or any text at all."""
    kind = draw(st.sampled_from(["b64", "b64-quoted", "urlsafe", "text"]))
    if kind == "text":
        return quote(draw(st.text(max_size=200)), safe="/+=")
    raw = draw(bodies)
    if kind == "urlsafe":
        return base64.urlsafe_b64encode(raw).decode()
    encoded = base64.b64encode(raw).decode()
    return quote(encoded, safe="") if kind == "b64-quoted" else encoded


def test_ocsp_get_never_answers_5xx(fuzz_site: FuzzSite) -> None:
    @given(path=get_paths(_bodies(fuzz_site)))
    @fuzz_settings()
    def get(path: str) -> None:
        fuzz_site.send("ocsp-get", "GET", f"/ocsp/{path}")

    get()
    fuzz_site.assert_target_clean("ocsp-get")
