"""Profile Service device responses: iPhone-like BER accepted, tampering and foreign signers refused."""

from __future__ import annotations

from typing import Any

import pytest

from campusca.apple import (
    DeviceNotTrusted,
    DeviceResponseInvalid,
    DeviceSignatureInvalid,
    parse_device_attributes,
)
from tests.support.iphone import (
    DeviceIdentity,
    issue_test_certificate,
    make_device_identity,
    new_rsa_key,
    sign_device_attributes,
)

ATTRIBUTES = {
    "UDID": "00008110-000A1B2C3D4E5F60",
    "IMEI": "35 209900 176148 1",
    "MEID": "35209900176148",
    "ICCID": "8941 0000 0000 0000 0001",
    "SERIAL": "F2LXK0ABCD12",
    "PRODUCT": "iPhone16,1",
    "VERSION": "21E236",
    "MAC_ADDRESS_EN0": "a4:83:e7:12:34:56",
    "DEVICE_NAME": "Alice's iPhone",
    "CHALLENGE": "phase1-challenge-abc",
}


def phone_post(iphone: DeviceIdentity, attrs: dict[str, Any] = ATTRIBUTES, **kwargs: Any) -> bytes:
    return sign_device_attributes(
        attrs,
        key=iphone.device_key,
        certificate=iphone.device_certificate,
        chain=[iphone.ca_certificate],
        **kwargs,
    )


def test_phase2_post_in_indefinite_ber_parses_and_chains_to_apple_root(iphone: DeviceIdentity) -> None:
    body = phone_post(iphone)
    assert body[:2] == b"\x30\x80"  # indefinite length, as iOS sends
    device = parse_device_attributes(body, trusted_device_roots=[iphone.root_certificate])
    assert device.udid == ATTRIBUTES["UDID"]
    assert (device.imei, device.meid, device.iccid) == (
        ATTRIBUTES["IMEI"],
        ATTRIBUTES["MEID"],
        ATTRIBUTES["ICCID"],
    )
    assert (device.serial, device.product, device.version) == ("F2LXK0ABCD12", "iPhone16,1", "21E236")
    assert (device.mac_address_en0, device.device_name) == ("a4:83:e7:12:34:56", "Alice's iPhone")
    assert device.challenge == "phase1-challenge-abc"
    assert device.signer_certificate == iphone.device_certificate
    assert device.signed_by_trusted_root is True


def test_post_without_trusted_roots_is_verified_but_not_marked_trusted(iphone: DeviceIdentity) -> None:
    device = parse_device_attributes(phone_post(iphone, {"UDID": "U1", "CHALLENGE": "c"}))
    assert (device.udid, device.challenge, device.serial) == ("U1", "c", None)
    assert device.signed_by_trusted_root is False


def test_sha1_signed_post_from_older_ios_parses(iphone: DeviceIdentity) -> None:
    device = parse_device_attributes(phone_post(iphone, digest_algorithm="sha1"))
    assert device.udid == ATTRIBUTES["UDID"]


def test_tampered_plist_is_rejected_as_bad_signature(iphone: DeviceIdentity) -> None:
    body = phone_post(iphone)
    tampered = body.replace(b"F2LXK0ABCD12", b"F2LXK0ABCD13")
    assert tampered != body
    with pytest.raises(DeviceSignatureInvalid):
        parse_device_attributes(tampered)


def test_signer_from_another_device_ca_is_not_trusted(iphone: DeviceIdentity) -> None:
    impostor = make_device_identity(udid="IMPOSTOR")
    with pytest.raises(DeviceNotTrusted, match="trusted device root"):
        parse_device_attributes(phone_post(impostor), trusted_device_roots=[iphone.root_certificate])


def test_signer_chain_missing_intermediate_is_not_trusted(iphone: DeviceIdentity) -> None:
    body = sign_device_attributes(ATTRIBUTES, key=iphone.device_key, certificate=iphone.device_certificate)
    with pytest.raises(DeviceNotTrusted):
        parse_device_attributes(body, trusted_device_roots=[iphone.root_certificate])


def test_leaf_certificate_cannot_act_as_issuer(iphone: DeviceIdentity) -> None:
    # A device certificate (CA:FALSE) "issuing" another one must not extend the chain.
    key = new_rsa_key()
    child = issue_test_certificate(
        subject="child", key=key, issuer=iphone.device_certificate, issuer_key=iphone.device_key
    )
    body = sign_device_attributes(
        ATTRIBUTES, key=key, certificate=child, chain=[iphone.device_certificate, iphone.ca_certificate]
    )
    with pytest.raises(DeviceNotTrusted):
        parse_device_attributes(body, trusted_device_roots=[iphone.root_certificate])


def test_phase3_post_signed_by_enrolled_certificate_chains_to_campus_root(pki: Any) -> None:
    body = sign_device_attributes(
        ATTRIBUTES, key=pki.enrolled_key, certificate=pki.enrolled, chain=[pki.issuing_ca]
    )
    device = parse_device_attributes(body, trusted_device_roots=[pki.issuing_ca])
    assert device.signer_certificate == pki.enrolled and device.signed_by_trusted_root


@pytest.mark.parametrize(
    ("body_or_attrs", "message"),
    [
        pytest.param(b"not cms at all", "not a CMS SignedData", id="fail-garbage"),
        pytest.param({"UDID": 42}, "UDID must be a string", id="fail-udid-integer"),
    ],
)
def test_malformed_post_is_rejected(iphone: DeviceIdentity, body_or_attrs: Any, message: str) -> None:
    body = body_or_attrs if isinstance(body_or_attrs, bytes) else phone_post(iphone, body_or_attrs)
    with pytest.raises(DeviceResponseInvalid, match=message):
        parse_device_attributes(body)


def test_signed_content_that_is_not_a_plist_dict_is_rejected(iphone: DeviceIdentity) -> None:
    from campusca.pki import cms

    for content in (b"UDID=1", b'<?xml version="1.0"?><plist version="1.0"><array/></plist>'):
        body = cms.build_signed_data(
            content, signer=iphone.device_key, signer_certificate=iphone.device_certificate
        )
        with pytest.raises(DeviceResponseInvalid, match="property list|dictionary"):
            parse_device_attributes(body)


def test_post_with_other_content_type_is_rejected(iphone: DeviceIdentity) -> None:
    from campusca.pki import cms

    body = cms.build_signed_data(
        b"<plist/>",
        signer=iphone.device_key,
        signer_certificate=iphone.device_certificate,
        content_type="1.3.6.1.5.5.7.12.2",  # id-cct-PKIData, not id-data
    )
    with pytest.raises(DeviceResponseInvalid, match="id-data"):
        parse_device_attributes(body)


def test_issuer_without_basic_constraints_does_not_extend_the_chain(iphone: DeviceIdentity) -> None:
    key = new_rsa_key()
    loose = issue_test_certificate(
        subject="loose", key=key, issuer=iphone.root_certificate, issuer_key=key, ca=None
    )
    # `loose` claims the root's name but is no CA; a device "issued" by it must not be trusted.
    leaf = issue_test_certificate(subject="leaf", key=key, issuer=loose, issuer_key=key)
    body = sign_device_attributes(ATTRIBUTES, key=key, certificate=leaf, chain=[loose])
    with pytest.raises(DeviceNotTrusted):
        parse_device_attributes(body, trusted_device_roots=[loose])


def test_chain_longer_than_eight_links_is_not_trusted() -> None:
    key = new_rsa_key()
    root = issue_test_certificate(subject="deep root", key=key, ca=True)
    chain, issuer = [], root
    for depth in range(9):
        issuer = issue_test_certificate(
            subject=f"level {depth}", key=key, issuer=issuer, issuer_key=key, ca=True
        )
        chain.append(issuer)
    leaf = issue_test_certificate(subject="deep leaf", key=key, issuer=issuer, issuer_key=key)
    body = sign_device_attributes(ATTRIBUTES, key=key, certificate=leaf, chain=chain)
    with pytest.raises(DeviceNotTrusted):
        parse_device_attributes(body, trusted_device_roots=[root])
    assert parse_device_attributes(body, trusted_device_roots=[chain[2]]).signed_by_trusted_root
