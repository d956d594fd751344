"""How long an OCSP answer about a certificate stays valid (nextUpdate), by the certificate's profile.

A relying party that caches a "good" answer keeps accepting the certificate until nextUpdate, so
profiles whose revocation must bite quickly (device certificates a VPN gateway checks) get a shorter
validity than the responder's default (docs/mdm.md, "For VPN gateway operators").
"""

from __future__ import annotations

from datetime import timedelta

from campusca.config import Settings


def ocsp_validity_for_profile(settings: Settings, profile: str | None) -> timedelta:
    """The validity of an OCSP answer about a certificate of `profile` (None: unknown serial or profile).

    `ocsp_validity_minutes_by_profile` overrides `ocsp_validity_minutes` per profile name; an answer
    is never valid for longer than the default.
    """
    default = settings.ocsp_validity_minutes
    minutes = settings.ocsp_validity_minutes_by_profile.get(profile or "", default)
    return timedelta(minutes=max(1, min(minutes, default)))
