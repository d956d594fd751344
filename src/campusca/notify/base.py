"""The notifier seam: `EmailSender` and `SmsSender` protocols and the log-only default."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from campusca.errors import CampusCAError

log = logging.getLogger("campusca.notify")


class NotifyError(CampusCAError):
    """A message could not be handed to the carrier (the caller retries or reports it)."""


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class SmsMessage:
    to: str  # E.164
    body: str


class EmailSender(Protocol):
    name: str

    def send_email(self, message: EmailMessage) -> None: ...


class SmsSender(Protocol):
    name: str

    def send_sms(self, message: SmsMessage) -> None: ...


class LogSender:
    """Writes messages to the log and keeps the last ones in memory (`campusca invite --show`)."""

    name = "log"

    def __init__(self) -> None:
        self.sent: list[EmailMessage | SmsMessage] = []

    def send_email(self, message: EmailMessage) -> None:
        self.sent.append(message)
        log.info("e-mail to %s: %s\n%s", message.to, message.subject, message.body)

    def send_sms(self, message: SmsMessage) -> None:
        self.sent.append(message)
        log.info("SMS to %s: %s", message.to, message.body)
