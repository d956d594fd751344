"""Errors of institutional login.

IdentityError (CampusCAError)
 ├── InvalidCredentials     unknown user or wrong password (one error for both, on purpose)
 └── DirectoryUnavailable   the directory could not be reached or refused our service bind
"""

from __future__ import annotations

from campusca.errors import CampusCAError


class IdentityError(CampusCAError):
    """Base class of login errors."""


class InvalidCredentials(IdentityError):
    """The username or the password is wrong; callers must not tell which."""


class DirectoryUnavailable(IdentityError):
    """The directory server is down, misconfigured, or its TLS certificate is not trusted."""
