"""SCEP (RFC 8894): GetCACert/GetCACaps with odd parameters, and PKIOperation by GET and POST with random
bytes, mutated valid requests and well-signed envelopes around junk, never answer 5xx."""

from __future__ import annotations

import base64
import string
from functools import cache
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import assume, given
from hypothesis import strategies as st

from campusca.scep import MessageType
from tests.fuzz.mutations import mutated
from tests.fuzz.site import FuzzSite, fuzz_settings
from tests.support.scep_client import (
    build_cert_poll,
    build_get_cert,
    build_pkcs_req,
    build_pki_message,
    make_transient_signer,
)
from tests.support.scep_server import make_csr, new_key

pytestmark = pytest.mark.fuzz

OPERATIONS = ["GetCACert", "GetCACaps", "GetNextCACert", "PKIOperation", "getcacaps", "GETCACERT", "", "x"]
URL_SAFE = frozenset(string.printable) - frozenset(string.whitespace) - frozenset("#")
PRINTABLE = string.ascii_letters + string.digits + " '()+,-./:=?"


@cache
def _signer() -> tuple[object, x509.Certificate]:
    key = new_key()
    return key, make_transient_signer(key)


def _seeds(site: FuzzSite) -> list[bytes]:
    """Valid messages a client sends: a PKCSReq (with a real challenge), a CertPoll and a GetCert."""
    key, signer = _signer()
    common = {"signer_key": key, "signer_certificate": signer, "recipient": site.scep_recipient}
    csr = make_csr(key, cn="fuzz-device", challenge=site.scep_challenge)  # type: ignore[arg-type]
    request = build_pkcs_req(csr, **common)  # type: ignore[arg-type]
    poll = build_cert_poll(site.issuing.subject, csr.subject, transaction_id=request.transaction_id, **common)
    get_cert = build_get_cert(site.issuing.subject, site.existing_serial, **common)
    return [request.der, poll.der, get_cert.der]


@st.composite
def enveloped_junk(draw: st.DrawFn, site: FuzzSite) -> bytes:
    """A correctly signed and enveloped pkiMessage whose content and attributes are arbitrary."""
    key, signer = _signer()
    message_type = draw(st.sampled_from([*MessageType, 0, 1, 99, -1, 2**40]))
    content = draw(
        st.one_of(
            st.binary(max_size=400),
            st.just(make_csr(key, cn="junk").public_bytes(serialization.Encoding.DER)),  # type: ignore[arg-type]
        )
    )
    transaction_id = draw(st.text(alphabet=PRINTABLE, max_size=80))
    nonce = draw(st.binary(max_size=40))
    try:
        message = build_pki_message(
            content,
            message_type=message_type,  # type: ignore[arg-type]
            signer_key=key,  # type: ignore[arg-type]
            signer_certificate=signer,
            recipient=site.scep_recipient,
            transaction_id=transaction_id,
            sender_nonce=nonce,
        )
    except ValueError:
        assume(False)  # a value the client library itself cannot encode
        raise
    return message.der


def _messages(site: FuzzSite) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=800), st.sampled_from(_seeds(site)).flatmap(mutated), enveloped_junk(site)
    )


def test_scep_pkioperation_never_answers_5xx(fuzz_site: FuzzSite) -> None:
    @given(
        message=_messages(fuzz_site), by_get=st.booleans(), encoding=st.sampled_from(["std", "quoted", "url"])
    )
    @fuzz_settings()
    def send(message: bytes, by_get: bool, encoding: str) -> None:
        if not by_get:
            fuzz_site.send("scep-pkioperation", "POST", "/scep?operation=PKIOperation", content=message)
            return
        text = base64.b64encode(message).decode()
        if encoding == "quoted":
            text = quote(text, safe="")
        elif encoding == "url":
            text = base64.urlsafe_b64encode(message).decode()
        fuzz_site.send("scep-pkioperation", "GET", f"/scep?operation=PKIOperation&message={text}")

    send()
    fuzz_site.assert_target_clean("scep-pkioperation")


@st.composite
def odd_queries(draw: st.DrawFn) -> str:
    """Query strings around the SCEP operations: odd case, repeats, junk names and values, raw escapes."""
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(["operation", "message", "OPERATION", "x", ""]) | st.text(max_size=12))
        value = draw(st.sampled_from(OPERATIONS) | st.text(max_size=60))
        raw = draw(st.booleans())
        unescaped = raw and all(c in URL_SAFE for c in value)  # httpx refuses controls in a URL
        parts.append(f"{quote(name)}={value if unescaped else quote(value)}")
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["%", "%zz", "&&", "=", "%00", "%ff%fe", "message=%"])))
    return "&".join(parts)


def test_scep_get_operations_never_answer_5xx(fuzz_site: FuzzSite) -> None:
    @given(query=odd_queries(), method=st.sampled_from(["GET", "POST"]), body=st.binary(max_size=64))
    @fuzz_settings()
    def send(query: str, method: str, body: bytes) -> None:
        content = body if method == "POST" else None
        fuzz_site.send("scep-operations", method, f"/scep?{query}", content=content)

    send()
    fuzz_site.assert_target_clean("scep-operations")
