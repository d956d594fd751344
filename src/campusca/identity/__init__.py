"""Institutional login: local accounts and LDAP; roles."""
