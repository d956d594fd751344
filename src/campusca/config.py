"""Settings: environment variables CAMPUSCA_*, an optional TOML file in the data directory, defaults."""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOME = "campusca-data"
CONFIG_FILE_NAME = "campusca.toml"


class LdapSettings(BaseModel):
    """One organisation's LDAP directory: search for the user, then bind as them (RFC 4513 §5.1.3)."""

    url: str
    bind_dn: str | None = None
    bind_password: str | None = Field(default=None, repr=False)
    user_base: str
    user_filter: str = "(uid={username})"
    username_attribute: str = "uid"
    group_base: str | None = None
    group_filter: str = "(|(member={dn})(uniqueMember={dn}))"
    group_roles: dict[str, str] = Field(default_factory=dict)  # group cn or DN -> campusca role
    start_tls: bool = False
    ca_file: Path | None = None
    verify_tls: bool = True
    timeout_seconds: float = 10.0
    # Publishing S/MIME certificates on people's entries (issue 13): a dedicated account with write access to
    # userSMIMECertificate and userCertificate only; publishing is off while publish_bind_dn is unset.
    publish_bind_dn: str | None = None
    publish_bind_password: str | None = Field(default=None, repr=False)
    publish_base: str | None = None  # default: user_base
    publish_filter: str = "(mail={email})"


class Settings(BaseSettings):
    """Everything campusca reads from its environment; one instance per process."""

    model_config = SettingsConfigDict(env_prefix="CAMPUSCA_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path(DEFAULT_HOME))
    database_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    # The http:// base put into CRL distribution points, OCSP and CA-issuer URLs (S/MIME BR §7.1.2.3 and
    # the TLS BRs want http there: a relying party must not need TLS to check revocation). Unset: the
    # public URL itself when it is http, else http on the public URL's host, port 80, same path.
    revocation_url: str | None = None
    master_key: str | None = Field(default=None, repr=False)
    key_backend: str = "software"
    pkcs11_module: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_pin: str | None = Field(default=None, repr=False)
    # CRLs are published for this long and re-signed when less than half of it is left.
    crl_validity_hours: int = 24
    # After a revocation the full CRL is re-signed at once only up to this many entries; above, the
    # delta CRL lists it at once and the scheduler re-signs the full CRL (docs/ca-core.md, "CRLs").
    crl_inline_entries: int = Field(default=100_000, ge=0)
    # OCSP responses are valid (nextUpdate) for this long; RFC 5019 caching keys off it.
    ocsp_validity_minutes: int = 60
    # Shorter OCSP validity per certificate profile: a VPN gateway caching a "good" answer for a device
    # certificate keeps accepting a revoked phone until then (docs/mdm.md).
    ocsp_validity_minutes_by_profile: dict[str, int] = Field(default_factory=lambda: {"device": 5})
    # Pre-produced OCSP answers kept per serve process (LRU by count; about 1.5 KB each).
    ocsp_cache_entries: int = Field(default=10_000, ge=0, le=1_000_000)
    # Each serve process re-reads the CAs' change counters at most this often, and a revocation call
    # returns only this long after its commit, so every process answers `revoked` once it has returned.
    # Every node must use the same value.
    ocsp_status_check_ms: int = Field(default=100, ge=0, le=10_000)
    max_body_bytes: int = 2 * 1024 * 1024
    # Back-pressure per serve process (docs/architecture.md): writes running at once, writes admitted
    # (running + queued) before new ones get 503 + Retry-After, and the longest a queued write waits.
    write_concurrency: int = Field(default=8, ge=1, le=256)
    write_queue_limit: int = Field(default=256, ge=1, le=100_000)
    write_wait_seconds: float = Field(default=10.0, gt=0, le=300)
    # Apple over-the-air enrollment, invitations and renewal (docs/enrollment.md).
    sms_sender: str = "log"  # log | http (Twilio-compatible REST API)
    sms_http_base_url: str = "https://api.twilio.com"
    sms_http_account_sid: str | None = None
    sms_http_auth_token: str | None = Field(default=None, repr=False)
    sms_from: str | None = None
    invitation_ttl_hours: int = 72
    outbox_max_attempts: int = 5
    # Login throttling (docs/enrollment.md, "Login"): per (account, address) a few free failures, then
    # an exponential back-off; above that, ceilings per account (all addresses) and per address.
    login_free_failures: int = 3
    login_backoff_seconds: float = 1.0  # doubles with each further failure of the pair
    login_backoff_max_seconds: float = 900.0
    login_max_failures_per_account: int = 50
    login_max_failures_per_address: int = 100
    login_failure_window_minutes: int = 60
    enroll_session_minutes: int = 30
    web_session_idle_minutes: int = Field(default=30, ge=1)  # a web page session ends after this idle time
    web_session_absolute_hours: int = Field(default=12, ge=1)  # and this long after login, whatever happens
    apple_device_ca_file: Path | None = None  # PEM: phase 2 must then chain to Apple's device CA
    vpn_remote_address: str | None = None  # default: vpn.<organisation domain>
    vpn_remote_identifier: str | None = None  # default: the remote address
    vpn_display_name: str = "Campus VPN"
    vpn_server_ca_common_name: str | None = None
    renewal_enabled: bool = True
    renewal_window_days: int = 30
    renewal_interval_seconds: int = 3600
    # Certificate-only MDM (docs/mdm.md): Apple's push gateway, an extra CA to trust for it (SSL_CERT_FILE
    # is honoured too), and after how many days without a check-in a device is renewed by invitation.
    mdm_apns_url: str = "https://api.push.apple.com"
    mdm_apns_ca_file: Path | None = None
    mdm_checkin_max_days: int = Field(default=14, ge=1)
    ldap: dict[str, LdapSettings] = Field(default_factory=dict)  # organisation name -> directory
    # Notifications: "log" (embedded default) writes messages to the log only.
    email_sender: str = "log"  # log | smtp
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "campusca@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    log_level: str = "info"
    # `campusca serve` speaks https itself when both are set (PEM files; relative paths are in the data
    # directory). For the demo and small sites: Apple enrollment needs https, without a separate proxy.
    tls_cert: Path | None = None  # the server certificate, then the issuing CA (`cert issue --chain`)
    tls_key: Path | None = Field(default=None, repr=False)  # its unencrypted private key
    audit_verify_slice: int = Field(default=20_000, ge=1, le=100_000)  # records per /admin/audit/verify step
    # S/MIME and key escrow (issue 3): keys campusca generates for people and for escrow domains,
    # and how long a recovery request may wait for its approvals before it expires.
    smime_key_type: str = "rsa-3072"  # rsa-2048 | rsa-3072 | rsa-4096 | ec-p256 | ec-p384 (ECDH, RFC 5753)
    escrow_domain_key_type: str = "rsa-3072"  # rsa-2048 | rsa-3072 | rsa-4096
    recovery_request_ttl_hours: int = 72
    # S/MIME on an enrolled iPhone (docs/smime.md): with both mail hosts set, the profile also creates the
    # person's Mail account with S/MIME on; with neither, it carries the two identities only.
    mail_incoming_host: str | None = None
    mail_incoming_protocol: str = "imap"  # imap | pop
    mail_incoming_port: int | None = None  # None: the protocol's default port
    mail_outgoing_host: str | None = None
    mail_outgoing_port: int | None = None  # None: iOS tries 25, 587, 465
    mail_use_ssl: bool = True
    mail_login: str = "email"  # email | username: the account's user name on the mail servers
    mail_account_description: str | None = None  # default: the person's e-mail address
    # SCEP (RFC 8894). Single DES is forbidden by the RFC and SHA-1 is weak: both stay off unless a
    # legacy client (micromdm's scepclient 2.1.0 uses DES-CBC + SHA-1) must enrol.
    scep_allow_single_des: bool = False
    scep_allow_sha1: bool = False
    scep_default_profile: str = "device"
    scep_profiles: list[str] = Field(default_factory=lambda: ["device", "server", "smime-signing"])
    scep_approval_profiles: list[str] = Field(default_factory=list)  # these wait for `scep pending approve`
    scep_challenge_ttl_seconds: int = 3600
    scep_next_ca: str | None = None  # slug of a rollover CA served by GetNextCACert

    @cached_property
    def effective_database_url(self) -> str:
        """The database URL: explicit, else a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'campusca.db').resolve()}"

    @field_validator("revocation_url")
    @classmethod
    def _revocation_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("http://"):
            raise ValueError(
                "revocation_url must be an http:// URL (relying parties fetch CRLs and OCSP without TLS)"
            )
        return value

    @property
    def effective_revocation_url(self) -> str:
        """The base of /crl, /ca and /ocsp as written into certificates (docs/ca-core.md, "Revocation URLs")."""
        if self.revocation_url:
            return self.revocation_url.rstrip("/")
        return default_revocation_url(self.public_url)

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def master_key_file(self) -> Path:
        return self.home / "master.key"


def default_revocation_url(public_url: str) -> str:
    """http on the public URL's host: an https site's explicit port says nothing of where plain http listens."""
    parts = urlsplit(public_url.rstrip("/"))
    if parts.scheme != "https":
        return public_url.rstrip("/")
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    return urlunsplit(("http", host, parts.path, "", ""))


def load_settings(home: str | Path | None = None, **overrides: Any) -> Settings:
    """Build settings from the environment, the data directory's campusca.toml, then `overrides`.

    Precedence, strongest first: explicit overrides, CAMPUSCA_* variables, the TOML file, defaults.
    """
    resolved_home = Path(home or os.environ.get("CAMPUSCA_HOME") or DEFAULT_HOME)
    file_values: dict[str, Any] = {}
    config_file = resolved_home / CONFIG_FILE_NAME
    if config_file.is_file():
        with config_file.open("rb") as handle:
            file_values = tomllib.load(handle)
    env_values = Settings(home=resolved_home).model_dump(exclude_unset=True)
    merged = {**file_values, **env_values, **overrides, "home": resolved_home}
    return Settings(**merged)
