"""Institutional login: local accounts (argon2id) and LDAP (search-then-bind), with group -> role mapping."""

from __future__ import annotations

from campusca.identity.errors import DirectoryUnavailable, IdentityError, InvalidCredentials
from campusca.identity.ldap import LdapOptions, LdapProvider
from campusca.identity.ldap_publish import EntryNotFound, LdapCertificatePublisher, LdapPublishOptions
from campusca.identity.local import PASSWORDS, LocalAccount, LocalProvider, PasswordVerifier
from campusca.identity.types import AuthenticatedUser, IdentityProvider

__all__ = [
    "AuthenticatedUser",
    "DirectoryUnavailable",
    "EntryNotFound",
    "IdentityError",
    "IdentityProvider",
    "InvalidCredentials",
    "LdapCertificatePublisher",
    "LdapOptions",
    "LdapProvider",
    "LdapPublishOptions",
    "LocalAccount",
    "LocalProvider",
    "PASSWORDS",
    "PasswordVerifier",
]
