"""Apple over-the-air enrollment: invitations, the Profile Service flow, devices, passcode policy, re-enrollment.

Adapters (web, cli) call the functions exported here: each takes the `Authority`, owns its transaction
and returns frozen views. The submodules' session-taking functions are for services composing one
transaction (re-enrollment creates invitations, phase 3 reads the passcode policy).
"""

from __future__ import annotations

from campusca.services.ota import devices, flow, invitations, passcode_policy, phase3, profiles, reenrollment
from campusca.services.ota.devices import STATES as DEVICE_STATES
from campusca.services.ota.devices import (
    DeviceCertificate,
    DeviceView,
    list_devices,
    revoke_device,
    show_device,
)
from campusca.services.ota.flow import (
    EnrollmentLogin,
    EnrollmentPage,
    check_enrollment_link,
    decline_on_link,
    enrollment_page,
    handle_device_request,
    profile_service_for_link,
)
from campusca.services.ota.flow import log_in as log_in_on_link
from campusca.services.ota.invitations import CHANNELS as INVITATION_CHANNELS
from campusca.services.ota.invitations import (
    Delivery,
    InvitationView,
    SentInvitation,
    deliver_due,
    invitation_views,
    send_invitation,
    withdraw_invitation,
)
from campusca.services.ota.own_devices import own_device, report_lost
from campusca.services.ota.passcode_policy import PasscodePolicy, passcode_policy_of, set_passcode_policy
from campusca.services.ota.reenrollment import RenewalReport
from campusca.services.ota.reenrollment import acquire_lease as acquire_renewal_lease
from campusca.services.ota.reenrollment import release_lease as release_renewal_lease
from campusca.services.ota.reenrollment import run_once as run_renewal_round
from campusca.services.ota.smime_profile import (
    SmimeDeviceProfile,
    SmimeProfileOutlook,
    issue_smime_profile,
    smime_profile_outlook,
)

__all__ = [
    "DEVICE_STATES",
    "INVITATION_CHANNELS",
    "Delivery",
    "DeviceCertificate",
    "DeviceView",
    "EnrollmentLogin",
    "EnrollmentPage",
    "InvitationView",
    "PasscodePolicy",
    "RenewalReport",
    "SentInvitation",
    "SmimeDeviceProfile",
    "SmimeProfileOutlook",
    "acquire_renewal_lease",
    "check_enrollment_link",
    "decline_on_link",
    "deliver_due",
    "devices",
    "enrollment_page",
    "flow",
    "handle_device_request",
    "invitation_views",
    "invitations",
    "issue_smime_profile",
    "list_devices",
    "log_in_on_link",
    "own_device",
    "passcode_policy",
    "passcode_policy_of",
    "phase3",
    "profile_service_for_link",
    "profiles",
    "reenrollment",
    "release_renewal_lease",
    "report_lost",
    "revoke_device",
    "run_renewal_round",
    "send_invitation",
    "set_passcode_policy",
    "show_device",
    "smime_profile_outlook",
    "withdraw_invitation",
]
