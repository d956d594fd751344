"""LDAP login: search for the user with a service account, then bind as them (RFC 4513 §5.1.3, RFC 4515).

Groups become campusca roles through a configured map (group cn or DN -> role), read from the
directory's groups (member/uniqueMember) and from the user's memberOf values where the server keeps them.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from campusca.identity.errors import DirectoryUnavailable, InvalidCredentials
from campusca.identity.types import AuthenticatedUser

if TYPE_CHECKING:
    from ldap3 import Connection, Server

# ldap3 (5 MB resident) is imported where it is used, not at import: a serve worker loads this module
# for the login service, yet most never talk to a directory (docs/architecture.md, "A worker's memory").

_MAX_USERNAME = 128


@dataclass(frozen=True, slots=True)
class LdapOptions:
    """How to reach one directory and find people and their groups in it."""

    url: str
    user_base: str
    bind_dn: str | None = None
    bind_password: str | None = field(default=None, repr=False)
    user_filter: str = "(uid={username})"
    username_attribute: str = "uid"
    group_base: str | None = None
    group_filter: str = "(|(member={dn})(uniqueMember={dn}))"
    group_roles: Mapping[str, str] = field(default_factory=dict)
    start_tls: bool = False
    ca_file: str | None = None
    verify_tls: bool = True
    timeout_seconds: float = 10.0


def ldap_server(url: str, *, ca_file: str | None, verify_tls: bool, timeout: float) -> Server:
    """The directory at `url` (ldap:// or ldaps://), its certificate checked unless `verify_tls` is off."""
    from ldap3 import NONE, Server, Tls

    tls = Tls(
        validate=ssl.CERT_REQUIRED if verify_tls else ssl.CERT_NONE,
        ca_certs_file=ca_file,
        version=ssl.PROTOCOL_TLS_CLIENT,
    )
    return Server(
        url, use_ssl=url.lower().startswith("ldaps://"), tls=tls, get_info=NONE, connect_timeout=timeout
    )


class LdapProvider:
    """Search-then-bind against one directory; never binds with an empty password (unauthenticated bind)."""

    name = "ldap"

    def __init__(self, options: LdapOptions) -> None:
        self._options = options
        self._server = ldap_server(
            options.url,
            ca_file=options.ca_file,
            verify_tls=options.verify_tls,
            timeout=options.timeout_seconds,
        )

    def authenticate(self, username: str, password: str) -> AuthenticatedUser:
        from ldap3.core.exceptions import LDAPException

        username = username.strip()
        # RFC 4513 §5.1.2: a simple bind with a DN and an empty password is an unauthenticated bind
        # that many servers answer with success, so an empty password must never reach the server.
        if not username or not password or len(username) > _MAX_USERNAME:
            raise InvalidCredentials("username or password is wrong")
        try:
            service = self._connect(self._options.bind_dn, self._options.bind_password)
            try:
                if not service.bound:
                    raise DirectoryUnavailable("the LDAP service account could not bind; check bind_dn")
                entry = self._find_user(service, username)
                if not self._bind_as(str(entry["dn"]), password):
                    raise InvalidCredentials("username or password is wrong")
                groups = self._groups(service, entry)
            finally:
                service.unbind()
        except LDAPException as error:
            raise DirectoryUnavailable(f"LDAP directory unavailable: {type(error).__name__}") from None
        return AuthenticatedUser(
            username=str(entry["username"]).lower(),
            source=self.name,
            display_name=entry["display_name"],
            email=entry["email"],
            groups=tuple(sorted(groups)),
            roles=self._roles(groups),
        )

    def _connect(self, user: str | None, password: str | None) -> Connection:
        from ldap3 import Connection

        connection = Connection(
            self._server,
            user=user,
            password=password,
            # ldap3 packs this into SO_RCVTIMEO with struct, which takes whole seconds only.
            receive_timeout=max(1, math.ceil(self._options.timeout_seconds)),
            raise_exceptions=False,
            read_only=True,
        )
        connection.open()
        if self._options.start_tls and not connection.start_tls():
            connection.unbind()
            raise DirectoryUnavailable("LDAP StartTLS was refused by the server")
        connection.bind()
        return connection

    def _bind_as(self, dn: str, password: str) -> bool:
        connection = self._connect(dn, password)
        try:
            return bool(connection.bound)
        finally:
            connection.unbind()

    def _find_user(self, service: Connection, username: str) -> dict[str, str | None]:
        from ldap3 import SUBTREE
        from ldap3.utils.conv import escape_filter_chars

        options = self._options
        search_filter = options.user_filter.format(username=escape_filter_chars(username))
        attributes = [options.username_attribute, "cn", "displayName", "mail", "memberOf"]
        service.search(options.user_base, search_filter, search_scope=SUBTREE, attributes=attributes)
        entries = [e for e in service.response or [] if e.get("type") == "searchResEntry"]
        if len(entries) != 1:  # unknown, or ambiguous: both are a failed login, never a guess
            raise InvalidCredentials("username or password is wrong")
        found = entries[0]
        values = found.get("attributes", {})
        return {
            "dn": found["dn"],
            "username": _first(values.get(options.username_attribute)) or username,
            "display_name": _first(values.get("displayName")) or _first(values.get("cn")),
            "email": _first(values.get("mail")),
            "member_of": "\n".join(str(v) for v in values.get("memberOf") or []),
        }

    def _groups(self, service: Connection, entry: Mapping[str, str | None]) -> set[str]:
        """Group DNs the user belongs to: from the group search and from memberOf."""
        groups = {g for g in (entry.get("member_of") or "").split("\n") if g}
        options = self._options
        if options.group_base:
            from ldap3 import SUBTREE
            from ldap3.utils.conv import escape_filter_chars

            search_filter = options.group_filter.format(
                dn=escape_filter_chars(str(entry["dn"])),
                username=escape_filter_chars(str(entry["username"])),
            )
            service.search(options.group_base, search_filter, search_scope=SUBTREE, attributes=["cn"])
            groups |= {e["dn"] for e in service.response or [] if e.get("type") == "searchResEntry"}
        return groups

    def _roles(self, group_dns: set[str]) -> tuple[str, ...]:
        wanted = {key.lower(): role for key, role in self._options.group_roles.items()}
        roles: set[str] = set()
        for dn in group_dns:
            for key in (dn.lower(), _cn_of(dn)):
                if key and key in wanted:
                    roles.add(wanted[key])
        return tuple(sorted(roles))


def _first(value: object) -> str | None:
    if isinstance(value, list | tuple):
        return str(value[0]) if value else None
    return str(value) if value else None


def _cn_of(dn: str) -> str | None:
    from ldap3.core.exceptions import LDAPException
    from ldap3.utils.dn import parse_dn

    try:
        attribute, value, _ = parse_dn(dn)[0]
    except (LDAPException, IndexError, ValueError):
        return None
    return value.lower() if attribute.lower() == "cn" else None
