"""Choosing and using the configured notifiers (the carriers themselves live in `notify/`)."""

from __future__ import annotations

from campusca.config import Settings
from campusca.notify import EmailSender, HttpSmsSender, LogSender, NotifyError, SmsSender, SmtpEmailSender

_LOG_SENDER = LogSender()


def make_email_sender(settings: Settings) -> EmailSender:
    if settings.email_sender == "smtp":
        return SmtpEmailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    return _LOG_SENDER


def make_sms_sender(settings: Settings) -> SmsSender:
    """`log` (default) or `http`, a Twilio-compatible REST gateway at `sms_http_base_url`."""
    if settings.sms_sender == "http":
        return HttpSmsSender(
            base_url=settings.sms_http_base_url,
            account_sid=settings.sms_http_account_sid or "",
            auth_token=settings.sms_http_auth_token or "",
            sender=settings.sms_from or "",
        )
    if settings.sms_sender != "log":
        raise NotifyError(f"sms_sender must be 'log' or 'http'; got {settings.sms_sender!r}")
    return _LOG_SENDER
