"""Organisations, departments, people, their logins and API tokens.

Adapters call the functions listed here with the `Authority`; each one runs in a transaction of its
own and answers frozen views. The session-taking functions in `registry` and `tokens` are for other
services composing one transaction.
"""

from __future__ import annotations

from campusca.services.people import login, registry, search, tokens, web_sessions
from campusca.services.people.registry import (
    change_password,
    change_person,
    list_departments,
    list_organisations,
    list_people,
    main_organisation,
    register_department,
    register_organisation,
    register_person,
    view_department,
    view_organisation,
    view_person,
)
from campusca.services.people.search import PEOPLE_SORTS, PeoplePage, find_people
from campusca.services.people.tokens import (
    TokenIdentity,
    TokenView,
    identify_token,
    list_tokens,
    mint_token,
    revoke_token,
)
from campusca.services.people.views import DepartmentView, OrganisationView, PersonView
from campusca.services.people.web_sessions import WebIdentity, WebLogin, log_in_web, log_out_web, web_identity

__all__ = [
    "PEOPLE_SORTS",
    "DepartmentView",
    "PeoplePage",
    "OrganisationView",
    "PersonView",
    "TokenIdentity",
    "TokenView",
    "WebIdentity",
    "WebLogin",
    "change_password",
    "change_person",
    "find_people",
    "identify_token",
    "list_departments",
    "list_organisations",
    "list_people",
    "list_tokens",
    "log_in_web",
    "log_out_web",
    "login",
    "main_organisation",
    "mint_token",
    "register_department",
    "register_organisation",
    "register_person",
    "registry",
    "revoke_token",
    "search",
    "tokens",
    "view_department",
    "view_organisation",
    "view_person",
    "web_identity",
    "web_sessions",
]
