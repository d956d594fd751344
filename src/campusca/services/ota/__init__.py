"""Apple over-the-air enrollment: invitations, the Profile Service flow, devices, passcode policy, re-enrollment."""

from __future__ import annotations

from campusca.services.ota import devices, flow, invitations, passcode_policy, phase3, profiles, reenrollment

__all__ = [
    "devices",
    "flow",
    "invitations",
    "passcode_policy",
    "phase3",
    "profiles",
    "reenrollment",
]
