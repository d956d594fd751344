"""E-mail over SMTP (RFC 5321), with STARTTLS and login when configured."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid

from campusca.notify.base import EmailMessage, NotifyError


class SmtpEmailSender:
    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int = 25,
        sender: str,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._starttls, self._username, self._password, self._timeout = starttls, username, password, timeout

    def send_email(self, message: EmailMessage) -> None:
        mime = MimeMessage()
        mime["From"] = self._sender
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = formatdate(localtime=False, usegmt=True)
        mime["Message-ID"] = make_msgid(domain=self._sender.rsplit("@", 1)[-1])
        mime.set_content(message.body)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username and self._password:
                    smtp.login(self._username, self._password)
                smtp.send_message(mime)
        except (OSError, smtplib.SMTPException) as error:
            # The SMTP error text names the server's complaint, never our credentials.
            raise NotifyError(f"e-mail to {message.to} was not accepted: {type(error).__name__}") from None
