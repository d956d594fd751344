"""`/admin/people`: find, add, edit and deactivate people; one person's certificates, devices, keys and invitations.

Reading is for administrators and RA officers; adding, editing, roles and (de)activation for
administrators; sending an enrollment invitation for both (as `POST /api/v1/invitations`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from campusca.errors import CampusCAError
from campusca.services import ca, ota, people, smime
from campusca.services.ca.revocation import END_ENTITY_REASONS
from campusca.services.errors import InvalidInput
from campusca.services.people import registry
from campusca.web.admin_pages import Staff, StaffForm, actor, done, failed, notice_of, require_admin
from campusca.web.listing import Listing
from campusca.web.pages import AuthorityDep, render

router = APIRouter(prefix="/admin/people", include_in_schema=False)
ROLES = tuple(sorted(registry.ROLES))
REASONS = tuple(reason.value for reason in END_ENTITY_REASONS)
Text = Annotated[str, Form(max_length=254)]


@router.get("", response_class=HTMLResponse)
def people_list(request: Request, authority: AuthorityDep, me: Staff) -> Response:
    listing = Listing.read(
        request.url.path,
        request.query_params,
        filters=("q", "role", "state"),
        sorts=tuple(people.PEOPLE_SORTS),
        default_sort="username",
    )
    role = listing.filters["role"] if listing.filters["role"] in ROLES else None
    state = {"active": True, "inactive": False}.get(listing.filters["state"])
    found = people.find_people(
        authority,
        text=listing.filters["q"],
        role=role,
        active=state,
        sort=listing.sort,
        descending=listing.descending,
        limit=listing.per_page,
        offset=listing.offset,
    )
    return render(
        request,
        "admin/people.html",
        me=me,
        people=found.items,
        list=listing.with_total(found.total),
        roles=ROLES,
        notice=notice_of(request),
    )


def _new_form(
    request: Request, authority: AuthorityDep, me: Staff, error: str = "", **values: object
) -> Response:
    departments = [f"{d.organisation}/{d.name}" for d in people.list_departments(authority)]
    status = 400 if error else 200
    return render(
        request,
        "admin/person_new.html",
        status,
        me=me,
        departments=departments,
        roles=ROLES,
        error=error,
        values=values,
    )


@router.get("/new", response_class=HTMLResponse)
def new_person_form(request: Request, authority: AuthorityDep, me: Staff) -> Response:
    require_admin(me)
    return _new_form(request, authority, me)


@router.post("/new", response_class=HTMLResponse)
def add_person(
    request: Request,
    authority: AuthorityDep,
    me: StaffForm,
    username: Annotated[str, Form(max_length=128)] = "",
    email: Text = "",
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    department: Annotated[str, Form(max_length=402)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    require_admin(me)
    try:
        person = people.register_person(
            authority,
            username=username,
            email=email.strip(),
            department=department,
            name=name.strip() or None,
            phone=phone.strip() or None,
            roles=tuple(roles or ()),
            actor=actor(me),
        )
    except CampusCAError as error:
        values = {
            "username": username,
            "email": email,
            "name": name,
            "phone": phone,
            "department": department,
        }
        return _new_form(request, authority, me, str(error), roles=tuple(roles or ()), **values)
    return done(f"/admin/people/{person.username}", "person-added")


@router.get("/{username}", response_class=HTMLResponse)
def person_page(request: Request, username: str, authority: AuthorityDep, me: Staff) -> Response:
    """Everything about one person an administrator acts on, each part read by its own service."""
    try:
        person = people.view_person(authority, username)
    except CampusCAError as error:
        return failed(request, error, me)
    certificates, total = ca.list_certificates(authority, username=person.username, limit=50)
    return render(
        request,
        "admin/person.html",
        me=me,
        person=person,
        certificates=certificates,
        total=total,
        devices=ota.list_devices(authority, username=person.username, limit=50),
        custody=smime.key_custody_of(authority, person.username),
        invitations=ota.invitation_views(authority, username=person.username, limit=10),
        roles=ROLES,
        reasons=REASONS,
        is_admin=me.has_any("admin"),
        notice=notice_of(request),
    )


@router.post("/{username}/edit", response_class=HTMLResponse)
def edit_person(
    request: Request,
    username: str,
    authority: AuthorityDep,
    me: StaffForm,
    email: Text = "",
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    require_admin(me)
    try:
        if username == me.username and "admin" not in (roles or ()):
            raise InvalidInput("you cannot take away your own admin role; ask another administrator")
        person = people.change_person(
            authority,
            username,
            actor=actor(me),
            email=email.strip() or None,
            name=name.strip(),
            phone=phone.strip(),
            roles=tuple(roles or ()),
        )
    except CampusCAError as error:
        return failed(request, error, me)
    return done(f"/admin/people/{person.username}", "person-changed")


@router.post("/{username}/active", response_class=HTMLResponse)
def set_active(
    request: Request,
    username: str,
    authority: AuthorityDep,
    me: StaffForm,
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Deactivate (people are never deleted: certificates and audit records point at them) or reactivate."""
    require_admin(me)
    if active not in ("true", "false"):
        return failed(request, InvalidInput("active must be true or false"), me)
    try:
        if username == me.username and active == "false":
            raise InvalidInput("you cannot deactivate your own account; ask another administrator")
        person = people.change_person(authority, username, actor=actor(me), active=active == "true")
    except CampusCAError as error:
        return failed(request, error, me)
    return done(
        f"/admin/people/{person.username}", "person-activated" if person.active else "person-deactivated"
    )


@router.post("/{username}/devices/{udid}/revoke", response_class=HTMLResponse)
def revoke_device(
    request: Request,
    username: str,
    udid: str,
    authority: AuthorityDep,
    me: StaffForm,
    reason: Annotated[str, Form(max_length=64)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """A lost or stolen phone: every valid certificate of the device is revoked in one transaction."""
    try:
        if confirm != "yes":
            raise InvalidInput("tick the box to confirm the revocation; nothing was revoked")
        device = ota.show_device(authority, udid)
        if device.owner != username:
            raise InvalidInput(f"device {udid} is not {username}'s")
        ota.revoke_device(authority, udid, reason=ca.parse_reason(reason), actor=actor(me))
    except CampusCAError as error:
        return failed(request, error, me)
    return done(f"/admin/people/{username}", "device-revoked")


@router.post("/{username}/invite", response_class=HTMLResponse)
def send_invitation(
    request: Request,
    username: str,
    authority: AuthorityDep,
    me: StaffForm,
    channel: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The use case's "prompt Alice to begin enrollment": a one-time link by SMS or e-mail, never shown here."""
    try:
        sent = ota.send_invitation(authority, username=username, channel=channel, actor=actor(me))
    except CampusCAError as error:
        return failed(request, error, me)
    notice = "invitation-sent" if sent.delivery.status == "sent" else "invitation-queued"
    return done(f"/admin/people/{sent.invitation.username}", notice)
