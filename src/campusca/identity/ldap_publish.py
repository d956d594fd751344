"""Publishing a person's S/MIME certificates in the organisation's LDAP directory (RFC 4523, RFC 2798).

Mail clients (Thunderbird, Outlook, Apple Mail) look recipients up by `mail` and read
`userSMIMECertificate` (a PKCS#7 certs-only SignedData, RFC 2798 §2.6) and `userCertificate;binary`
(one value per DER certificate, RFC 4523 §2.1). Each publication replaces both attributes with what
is current, so it can be repeated (an outbox retries it) and an empty set removes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from campusca.identity.errors import DirectoryUnavailable, IdentityError
from campusca.identity.ldap import ldap_server

if TYPE_CHECKING:
    from ldap3 import Connection

# ldap3 is imported where it is used (see identity/ldap.py): most serve workers never publish.

SMIME_ATTRIBUTE = "userSMIMECertificate"
CERTIFICATE_ATTRIBUTE = "userCertificate;binary"  # OpenLDAP requires the ;binary transfer option


class EntryNotFound(IdentityError):
    """No (or more than one) directory entry has the person's address: nothing is published."""


@dataclass(frozen=True, slots=True)
class LdapPublishOptions:
    """Where and as whom campusca writes certificates; the password never appears in a repr or a log."""

    url: str
    base: str
    bind_dn: str
    bind_password: str = field(repr=False)
    entry_filter: str = "(mail={email})"
    start_tls: bool = False
    ca_file: str | None = None
    verify_tls: bool = True
    timeout_seconds: float = 10.0


class LdapCertificatePublisher:
    """Writes and removes certificates on people's entries with a dedicated publishing account."""

    def __init__(self, options: LdapPublishOptions) -> None:
        self._options = options
        self._server = ldap_server(
            options.url,
            ca_file=options.ca_file,
            verify_tls=options.verify_tls,
            timeout=options.timeout_seconds,
        )

    def replace_certificates(
        self, email: str, *, smime_blob: bytes | None, certificates: Sequence[bytes]
    ) -> str:
        """Replace the entry's certificate attributes (an empty `certificates` removes them); return its DN."""
        from ldap3 import MODIFY_REPLACE
        from ldap3.core.exceptions import LDAPException

        try:
            connection = self._connect()
            try:
                dn = self._find_entry(connection, email)
                changes = {
                    SMIME_ATTRIBUTE: [(MODIFY_REPLACE, [smime_blob] if smime_blob and certificates else [])],
                    CERTIFICATE_ATTRIBUTE: [(MODIFY_REPLACE, list(certificates))],
                }
                if not connection.modify(dn, changes):
                    result = connection.result or {}
                    raise DirectoryUnavailable(
                        f"LDAP modify of {dn} was refused: {result.get('description', 'unknown error')}"
                    )
                return dn
            finally:
                connection.unbind()
        except LDAPException as error:
            raise DirectoryUnavailable(f"LDAP directory unavailable: {type(error).__name__}") from None

    def _connect(self) -> Connection:
        from ldap3 import Connection

        options = self._options
        connection = Connection(
            self._server,
            user=options.bind_dn,
            password=options.bind_password,
            receive_timeout=max(1, math.ceil(options.timeout_seconds)),
            raise_exceptions=False,
        )
        connection.open()
        if options.start_tls and not connection.start_tls():
            connection.unbind()
            raise DirectoryUnavailable("LDAP StartTLS was refused by the server")
        if not connection.bind():
            connection.unbind()
            raise DirectoryUnavailable("the LDAP publishing account could not bind; check publish_bind_dn")
        return connection

    def _find_entry(self, connection: Connection, email: str) -> str:
        from ldap3 import SUBTREE
        from ldap3.utils.conv import escape_filter_chars

        search_filter = self._options.entry_filter.format(email=escape_filter_chars(email))
        connection.search(self._options.base, search_filter, search_scope=SUBTREE, attributes=["mail"])
        entries = [e for e in connection.response or [] if e.get("type") == "searchResEntry"]
        if len(entries) != 1:
            found = "no entry" if not entries else f"{len(entries)} entries"
            raise EntryNotFound(f"the directory has {found} for {email}; certificates were not published")
        return str(entries[0]["dn"])
