"""Email transport: one multipart (text + HTML) UTF-8 message per digest over SMTP."""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from alerts.errors import TransportError
from alerts.messages import AlertMessage, render
from alerts.notices import Digest
from monitor.config import SmtpSettings

MESSAGE_ID_DOMAIN = "clusterwatch"


def compose(
    message: AlertMessage, *, sender: str, to: str, idempotency_key: str, now: datetime
) -> EmailMessage:
    """The MIME message of ``message``: multipart/alternative, text first, then HTML.

    The Message-ID comes from the idempotency key, so a retried send carries the same
    id and mail systems that deduplicate on it show the notice once.
    """
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(now.astimezone(UTC))
    mail["Message-ID"] = f"<{idempotency_key}@{MESSAGE_ID_DOMAIN}>"
    mail.set_content(message.text, charset="utf-8")
    mail.add_alternative(message.html, subtype="html", charset="utf-8")
    return mail


class EmailTransport:
    """Deliver messages to one address through the configured SMTP server.

    Connection failures, timeouts and 4xx replies are transient; 5xx replies (a refused
    recipient, failed login) and a missing SMTP configuration are permanent.
    """

    def __init__(self, smtp: SmtpSettings, *, to: str) -> None:
        self.smtp = smtp
        self.to = to

    def send(self, digest: Digest, idempotency_key: str) -> None:
        """Send ``digest``; raise ``TransportError`` when the server does not accept it."""
        smtp = self.smtp
        if not smtp.configured or smtp.host is None:
            raise TransportError("SMTP is not configured", permanent=True)
        mail = compose(
            render(digest),
            sender=smtp.sender,
            to=self.to,
            idempotency_key=idempotency_key,
            now=datetime.now(UTC),
        )
        server = f"SMTP {smtp.host}:{smtp.port}"
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
                if smtp.starttls:
                    client.starttls(context=ssl.create_default_context())
                if smtp.user:
                    client.login(smtp.user, smtp.password or "")
                client.send_message(mail, from_addr=smtp.sender, to_addrs=[self.to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b""))
            raise self._reply_error(f"{server} refused the recipient", code, reply) from None
        except smtplib.SMTPResponseException as exc:
            raise self._reply_error(server, exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPNotSupportedError:
            raise TransportError(f"{server} does not support STARTTLS", permanent=True) from None
        except ssl.SSLCertVerificationError as exc:
            raise TransportError(
                f"{server}: certificate not trusted ({exc.verify_message})", permanent=True
            ) from None
        except TimeoutError:
            raise TransportError(f"{server}: no answer within {smtp.timeout} s") from None
        except ConnectionRefusedError:
            raise TransportError(f"{server}: connection refused") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(self._hide_password(f"{server}: {_describe(exc)}")) from None

    def _reply_error(self, prefix: str, code: int, reply: bytes | str) -> TransportError:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        detail = self._hide_password(f"{prefix}: {code} {text}".strip())
        return TransportError(detail, permanent=500 <= code < 600)

    def _hide_password(self, text: str) -> str:
        password = self.smtp.password
        return text.replace(password, "***") if password else text


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
