"""After a lost-key recovery the signing certificate is offered for re-issue, or re-issued in the release."""

from __future__ import annotations

from sqlalchemy import select

from campusca.db.models import Certificate
from campusca.pki.certificates import openssl_serial
from campusca.pki.pkcs12 import load_pkcs12
from campusca.services.authority import Authority
from campusca.services.smime import recovery
from campusca.services.smime.recovery_release import release_lost_key
from campusca.services.smime.signing_reissue import reissue_signing
from tests.integration.escrow.helpers import PASSWORD, enable_escrow, issue


def _reason(authority: Authority, serial_hex: str) -> str | None:
    with authority.db.read() as session:
        return session.execute(
            select(Certificate.revocation_reason).where(Certificate.serial_hex == serial_hex.rjust(40, "0"))
        ).scalar_one()


def _approved(authority: Authority) -> int:
    request = recovery.request_recovery(authority, username="mary", reason="lost-key", actor="cli")
    recovery.approve(authority, request_id=request.id, agent="rita", actor="cli")
    return request.id


def test_a_release_without_reissue_names_the_signing_certificate_still_valid(authority: Authority) -> None:
    enable_escrow(authority)
    mary = issue(authority, "mary")
    released = release_lost_key(authority, request_id=_approved(authority), password=PASSWORD, actor="cli")
    assert released.signing_still_valid == (openssl_serial(mary.signing.serial),)
    assert released.new_signing_serial is None and _reason(authority, mary.signing.serial_hex) is None
    again = reissue_signing(authority, username="mary", password=PASSWORD, actor="cli")
    assert again.revoked == (openssl_serial(mary.signing.serial),)
    assert _reason(authority, mary.signing.serial_hex) == "superseded"
    certificate = load_pkcs12(again.pkcs12, PASSWORD.encode()).certificate
    assert openssl_serial(certificate.serial_number) == again.new_serial


def test_a_release_with_reissue_replaces_the_signing_certificate_in_the_same_file(
    authority: Authority,
) -> None:
    enable_escrow(authority)
    mary = issue(authority, "mary")
    released = release_lost_key(
        authority, request_id=_approved(authority), password=PASSWORD, actor="cli", reissue_signing=True
    )
    assert (
        released.revoked_signing == (openssl_serial(mary.signing.serial),)
        and released.signing_still_valid == ()
    )
    assert _reason(authority, mary.signing.serial_hex) == "superseded"
    contents = load_pkcs12(released.pkcs12, PASSWORD.encode())
    assert openssl_serial(contents.certificate.serial_number) == released.new_serial  # decryption key first
    in_file = [openssl_serial(c.serial_number) for _, c in contents.extra]
    assert in_file[0] == released.new_signing_serial and openssl_serial(mary.encryption.serial) in in_file
