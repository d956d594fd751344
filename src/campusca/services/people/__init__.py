"""Organisations, departments, people, their logins and API tokens."""

from __future__ import annotations

from campusca.services.people import login, registry, tokens

__all__ = [
    "login",
    "registry",
    "tokens",
]
