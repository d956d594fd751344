"""SMS and e-mail senders behind small protocols; the embedded default only writes to the log."""

from campusca.notify.base import EmailMessage, EmailSender, LogSender, NotifyError, SmsMessage, SmsSender
from campusca.notify.sms_http import HttpSmsSender
from campusca.notify.smtp import SmtpEmailSender

__all__ = [
    "EmailMessage",
    "EmailSender",
    "HttpSmsSender",
    "LogSender",
    "NotifyError",
    "SmsMessage",
    "SmsSender",
    "SmtpEmailSender",
]
