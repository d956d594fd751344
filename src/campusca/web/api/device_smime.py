"""REST: the owner's S/MIME profile for an enrolled device (docs/smime.md), for an RA officer's tooling.

Answers the signed profile, encrypted to the device, as `application/x-apple-aspen-config`; the serials
it carries are in response headers. The same service call as `/my/devices/{id}/smime-profile`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from campusca.apple import CONTENT_TYPE
from campusca.services import ota
from campusca.services.authority import Authority
from campusca.services.people.tokens import TokenIdentity
from campusca.web.deps import get_authority, require_role

router = APIRouter(tags=["devices"])
Officer = Annotated[TokenIdentity, Depends(require_role("ra-officer"))]
AuthorityDep = Annotated[Authority, Depends(get_authority)]


@router.post("/devices/{udid}/smime-profile", response_class=Response)
def smime_profile(udid: str, identity: Officer, authority: AuthorityDep) -> Response:
    """The device owner's escrowed encryption identity and a new signing identity, encrypted to the device."""
    device = ota.show_device(authority, udid)
    made = ota.issue_smime_profile(
        authority, username=device.owner, device_id=device.id, actor=identity.actor
    )
    return Response(
        made.signed_profile,
        media_type=CONTENT_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{made.file_name}"',
            "Cache-Control": "no-store",
            "X-Signing-Serial": format(made.signing_serial, "x"),
            "X-Encryption-Serial": format(made.encryption_serial, "x"),
        },
    )
