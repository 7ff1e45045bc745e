"""Optional e-mail of the outbox through a configured SMTP server (`Settings.smtp_host`):
coordinators' reminders to `smtp_coordinators`, a host's to its address in
`smtp_hosts`. Without a server nothing is sent and the feed is all there is. A failed
send is counted and retried at the next tick; the error kept is its type only."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.settings import Settings
from volmatch.api.service.tables import OutboxMessage, utcnow

MAX_ATTEMPTS: Final = 5
"""A message that failed this often is left in the feed and no longer sent."""
SEND_BATCH: Final = 200
"""Messages sent per tick: a backlog drains over a few ticks without a long write."""


def recipient(msg: OutboxMessage, settings: Settings) -> str | None:
    if msg.role == "coordinator":
        return settings.smtp_coordinators or None
    return settings.smtp_hosts.get(msg.host_id or "")


def send_pending(session: Session, settings: Settings) -> int:
    """E-mail the outbox's unsent messages that have a recipient; how many were sent."""
    if not settings.smtp_host:
        return 0
    pending = list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
            .order_by(OutboxMessage.id)
            .limit(SEND_BATCH)
        )
    )
    todo = [(m, to) for m in pending if (to := recipient(m, settings))]
    if not todo:
        return 0
    sent = 0
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
        ) as smtp:
            for msg, to in todo:
                email = EmailMessage()
                email["From"], email["To"], email["Subject"] = settings.smtp_from, to, msg.subject
                email.set_content(msg.body)
                msg.attempts += 1
                try:
                    smtp.send_message(email)
                except smtplib.SMTPException as exc:
                    msg.error = type(exc).__name__
                    continue
                msg.sent_at, msg.error = utcnow(), None
                sent += 1
    except (OSError, smtplib.SMTPException) as exc:
        for msg, _ in todo:
            if msg.sent_at is None:
                msg.error = type(exc).__name__
    session.flush()
    return sent
