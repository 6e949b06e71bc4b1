"""``smtp_server``: a real SMTP server (aiosmtpd) on 127.0.0.1 and a free port that keeps
every message it receives, so that tests read the mail, take its link or code, and follow it.

It accepts a login (``SmtpServer.user`` / ``SmtpServer.password``; any other is refused) over
plain SMTP and records who sent each message (``ReceivedMail.login``), so that tests can check
that the project's SMTP credentials are used.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SMTP_USER = "apprun-mailer"
SMTP_PASSWORD = "smtp-test-password"
LINK = re.compile(r"https?://[^\s\"'<>]+/verify\?[^\s\"'<>]+")
CODE = re.compile(r"(?<!\d)(\d{6,10})(?!\d)")


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server received it."""

    sender: str
    recipients: list[str]
    login: str | None
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> str:
        return str(self.message["To"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part in {self.subject!r}"
        return str(body.get_content())

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")

    def link(self) -> str:
        """The /verify link of the text part."""
        found = LINK.search(self.text)
        assert found is not None, f"no link in {self.text!r}"
        return found.group(0)

    def link_path(self) -> str:
        """The link as a path and query, for the in-process test client."""
        parts = urlsplit(self.link())
        return f"{parts.path}?{parts.query}"

    def code(self) -> str:
        """The numeric one-time code of the text part (outside the link)."""
        text = LINK.sub("", self.text)
        found = CODE.search(text)
        assert found is not None, f"no code in {text!r}"
        return found.group(1)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        login = (
            session.auth_data.login.decode()
            if isinstance(session.auth_data, LoginPassword)
            else None
        )
        mail = ReceivedMail(
            str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], login, message
        )
        with self.server.lock:
            self.server.messages.append(mail)
        return "250 Message accepted for delivery"


def _authenticate(
    _server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        mechanism in ("LOGIN", "PLAIN")
        and isinstance(data, LoginPassword)
        and data.login == SMTP_USER.encode()
        and data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


Security = Literal["none", "starttls", "tls"]


class SmtpServer:
    """The running server and the messages it received.

    ``security``: plain SMTP (``none``), STARTTLS required (``starttls``) or implicit TLS
    (``tls``), with a certificate for 127.0.0.1 signed by a throwaway CA (``ca_pem``).
    """

    user = SMTP_USER
    password = SMTP_PASSWORD
    sender = "no-reply@apprun.test"

    def __init__(self, security: Security = "none") -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.security = security
        self.messages: list[ReceivedMail] = []
        self.lock = threading.Lock()
        tls: dict[str, Any] = {}
        self.ca_pem = ""
        if security != "none":
            self.ca_pem, context = _tls_for(self.host)
            tls = (
                {"tls_context": context, "require_starttls": True}
                if security == "starttls"
                else {"ssl_context": context}
            )
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            authenticator=_authenticate,
            # Login is optional here: aiosmtpd warns when it is required without TLS.
            auth_required=False,
            auth_require_tls=False,
            **tls,
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def config(self, **changes: Any) -> dict[str, Any]:
        """The project's ``smtp`` setting that sends through this server."""
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            **({"ca_certificate": self.ca_pem} if self.ca_pem else {}),
            "user": self.user,
            "password": self.password,
            "sender": self.sender,
            "sender_name": "apprun tests",
            **changes,
        }

    def to(self, address: str) -> list[ReceivedMail]:
        with self.lock:
            return [m for m in self.messages if address in m.recipients]

    def last(self, address: str) -> ReceivedMail:
        received = self.to(address)
        assert received, (
            f"no mail to {address}; got mails to {[m.recipients for m in self.messages]}"
        )
        return received[-1]

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


def _tls_for(host: str) -> tuple[str, ssl.SSLContext]:
    """A throwaway CA (its PEM) and a server context whose certificate it signed for ``host``."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "apprun test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        cert_path, key_path = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_path, key_path)
    return ca.public_bytes(serialization.Encoding.PEM).decode(), context


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 collecting messages (``.last(address)``)."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["starttls", "tls"])
def smtp_tls_server(request: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    """The same server behind STARTTLS (required) and behind implicit TLS, with a
    certificate of a throwaway CA (``.ca_pem``)."""
    server = SmtpServer(request.param)
    server.start()
    try:
        yield server
    finally:
        server.stop()
