"""Errors of the key backends.

KeyBackendError
 ├── KeyNotFound        no key is stored under that label
 ├── KeyExists          a key is already stored under that label (never overwritten)
 └── MasterKeyError     the master key is missing or does not open the stored keys
"""

from __future__ import annotations

from campusca.errors import CampusCAError


class KeyBackendError(CampusCAError):
    """Base class of the key backends' errors."""


class KeyNotFound(KeyBackendError):
    """No private key is stored under the requested label."""


class KeyExists(KeyBackendError):
    """A private key is already stored under that label."""


class MasterKeyError(KeyBackendError):
    """The master key is missing, malformed, or does not decrypt the stored keys."""
