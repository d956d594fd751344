"""With MDM on, Alice's final enrollment profile also enrols her iPhone in campusca's certificate-only MDM."""

from __future__ import annotations

from tests.integration.enrollment.conftest import EnrollmentSite
from tests.integration.mdm.conftest import MdmSite
from tests.support.apple_schema import validate_profile
from tests.support.iphone_simulator import SimulatedIPhone, strip_private


def test_the_final_profile_holds_an_mdm_payload_that_checks_in_with_the_scep_identity(mdm: MdmSite) -> None:
    phone = SimulatedIPhone()
    final = mdm.site.enrol(phone)
    validate_profile(strip_private(final))
    payloads = {p["PayloadType"]: p for p in final["PayloadContent"]}
    managed = payloads["com.apple.mdm"]
    assert managed["ServerURL"] == f"{mdm.site.url}/mdm/server"
    assert managed["CheckInURL"] == f"{mdm.site.url}/mdm/checkin"
    assert managed["Topic"] == mdm.push.topic
    assert managed["SignMessage"] is True and managed["CheckOutWhenRemoved"] is True
    assert managed["AccessRights"] == 3
    assert managed["IdentityCertificateUUID"] == payloads["com.apple.security.scep"]["PayloadUUID"]


def test_without_a_push_certificate_the_final_profile_has_no_mdm_payload(site: EnrollmentSite) -> None:
    final = site.enrol(SimulatedIPhone())
    assert "com.apple.mdm" not in {p["PayloadType"] for p in final["PayloadContent"]}
