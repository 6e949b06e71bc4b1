"""Delivery of the auth module's mails through the project's SMTP server (``AuthConfig.smtp``:
STARTTLS, implicit TLS or plain, with optional login) using aiosmtplib.

A project without SMTP settings sends nothing and the request still succeeds: in development
mode the mail (recipient, subject, link, code) is logged at WARNING so that a developer can
follow it; otherwise only the recipient and subject are logged, since a link in a log is a key
to the account.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

import aiosmtplib

from apprun.modules.auth.config import SmtpConfig
from apprun.modules.auth.errors import EmailSendFailed

log = logging.getLogger("apprun.auth.mail")

SEND_TIMEOUT_SECONDS = 10.0
MAX_PRETEND_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Mail:
    """A rendered mail; ``link`` and ``code`` only feed the development log."""

    to: str
    subject: str
    text: str
    html: str
    link: str | None = None
    code: str | None = None


class Mailer:
    """Sends mails; also knows how long a send usually takes, so that the answer for an
    unknown address can take as long (``pretend``)."""

    def __init__(self, *, dev: bool = False, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        self.dev = dev
        self.timeout = timeout
        self._typical_seconds = 0.0

    async def deliver(self, project: str, smtp: SmtpConfig | None, mail: Mail) -> None:
        """Send ``mail``; raise EmailSendFailed when the SMTP server fails or refuses it."""
        if smtp is None:
            self._log_unsent(project, mail)
            return
        started = time.perf_counter()
        password = smtp.password.get_secret_value() if smtp.password else None
        try:
            await aiosmtplib.send(
                build_message(smtp, mail),
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.user or None,
                password=password if smtp.user else None,
                use_tls=smtp.security == "tls",
                start_tls=smtp.security == "starttls",
                tls_context=smtp.tls_context(),
                timeout=self.timeout,
            )
        # ValueError: a header the message cannot hold (say, a newline in the sender).
        except (TimeoutError, aiosmtplib.SMTPException, OSError, ValueError) as exc:
            log.error(
                "auth mail for project %s to %s failed via %s:%s: %s",
                project, mail.to, smtp.host, smtp.port, exc,
            )  # fmt: skip
            raise EmailSendFailed() from None
        elapsed = time.perf_counter() - started
        self._typical_seconds = 0.8 * self._typical_seconds + 0.2 * elapsed

    async def pretend(self) -> None:
        """Spend about the time a send takes (answers for unknown addresses)."""
        await asyncio.sleep(min(self._typical_seconds, MAX_PRETEND_SECONDS))

    def _log_unsent(self, project: str, mail: Mail) -> None:
        if self.dev:
            log.warning(
                "SMTP is not configured for project %s; the mail is not sent.\n"
                "  To: %s\n  Subject: %s\n  Link: %s\n  Code: %s",
                project, mail.to, mail.subject, mail.link or "-", mail.code or "-",
            )  # fmt: skip
        else:
            log.warning(
                "SMTP is not configured for project %s: mail to %s (%s) not sent; set it with "
                "PATCH /admin/v1/auth/config {\"smtp\": …}",
                project, mail.to, mail.subject,
            )  # fmt: skip


def build_message(smtp: SmtpConfig, mail: Mail) -> EmailMessage:
    """A multipart/alternative message: the text part first, the HTML part preferred."""
    message = EmailMessage()
    message["From"] = formataddr((smtp.sender_name or "", smtp.sender))
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)
    # An explicit domain: the default asks the resolver for this host's name.
    message["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or "apprun.local")
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message
