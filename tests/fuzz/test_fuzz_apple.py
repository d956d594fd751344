"""Apple's Profile Service (`POST /enroll/ota`): random bytes, plists and CMS-signed attribute sets, valid
and mutated, from a device identity campusca does not trust, never answer 5xx."""

from __future__ import annotations

import plistlib
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.mutations import mutated
from tests.fuzz.site import FuzzSite, fuzz_settings
from tests.support.iphone import DeviceIdentity, make_device_identity, sign_device_attributes

pytestmark = pytest.mark.fuzz

ATTRIBUTE_NAMES = ["UDID", "CHALLENGE", "IMEI", "MEID", "PRODUCT", "SERIAL", "VERSION", "DEVICE_NAME", "x"]
# plistlib writes no control characters or surrogates; the server sees every other character.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=80)
PLIST_VALUES = st.recursive(
    st.none().map(lambda _: "")
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | TEXT
    | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=8,
)
ATTRIBUTES = st.dictionaries(st.sampled_from(ATTRIBUTE_NAMES) | TEXT, PLIST_VALUES, max_size=8)


@cache
def _device() -> DeviceIdentity:
    return make_device_identity()


def _signed(attributes: dict[str, object]) -> bytes:
    device = _device()
    return sign_device_attributes(
        attributes,
        key=device.device_key,
        certificate=device.device_certificate,
        chain=[device.ca_certificate, device.root_certificate],
    )


@st.composite
def profile_service_bodies(draw: st.DrawFn, challenge: str) -> bytes:
    kind = draw(st.sampled_from(["bytes", "plist", "signed", "mutated"]))
    if kind == "bytes":
        return draw(st.binary(max_size=600))
    attributes = draw(ATTRIBUTES)
    if kind == "plist":
        form = draw(st.sampled_from([plistlib.FMT_XML, plistlib.FMT_BINARY]))
        return plistlib.dumps(attributes, fmt=form)
    if kind == "signed":
        return _signed(attributes)
    seed = _signed(
        {"UDID": _device().udid, "CHALLENGE": challenge, "PRODUCT": "iPhone14,2", "VERSION": "21A"}
    )
    return draw(mutated(seed))


def test_profile_service_never_answers_5xx(fuzz_site: FuzzSite) -> None:
    content_types = st.sampled_from(["application/pkcs7-signature", "application/octet-stream", ""])

    @given(body=profile_service_bodies(fuzz_site.scep_challenge), content_type=content_types)
    @fuzz_settings()
    def post(body: bytes, content_type: str) -> None:
        fuzz_site.send(
            "apple-profile-service",
            "POST",
            "/enroll/ota",
            content=body,
            headers={"Content-Type": content_type},
        )

    post()
    fuzz_site.assert_target_clean("apple-profile-service")
