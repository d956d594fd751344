"""Choosing and using the configured notifiers (the carriers themselves live in `notify/`)."""

from __future__ import annotations

from campusca.config import Settings
from campusca.notify import EmailSender, LogSender, SmtpEmailSender

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
