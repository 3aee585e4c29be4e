"""E-mail: rendered in the recipient's language, stored in the outbox table and sent by a job.

With SMTP configured (NERACA_SMTP_HOST) the job sends through aiosmtplib with retries; without it the
mail stays in the outbox (status `outbox`) where the local-only "mail outbox" page shows it.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from portal.lib import clock, i18n, sql
from portal.lib.ids import new_id
from portal.lib.jobs import enqueue
from portal.settings import get_settings

TEMPLATES = {"enroll", "reset_password"}
SEND_JOB = "identity.send_email"


_PLAIN: dict[int, Any] = {}


def _plain_environment(env: Any) -> Any:
    """The templates' environment without HTML escaping, for the subject and the text/plain part (a name
    like "Tom & Jerry" must reach a plain-text reader as written, not as `&amp;`)."""
    plain = _PLAIN.get(id(env))
    if plain is None or plain[0] is not env:
        plain = _PLAIN[id(env)] = (env, env.overlay(autoescape=False))
    return plain[1]


def render(template: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of `emails/<template>` in `language`."""
    from portal.server.templating import environment

    env = environment()
    plain = _plain_environment(env)
    token = i18n.current_language.set(language if language in i18n.LANGUAGE_CODES else "en")
    try:
        subject = plain.get_template(f"emails/{template}.subject.txt").render(**context).strip()
        text = plain.get_template(f"emails/{template}.txt").render(**context)
        html = env.get_template(f"emails/{template}.html").render(subject=subject, **context)
    finally:
        i18n.current_language.reset(token)
    return subject, text, html


async def queue(
    template: str,
    *,
    to: str,
    language: str,
    context: dict[str, Any],
    business_id: str | None = None,
    attachment: tuple[str, str, bytes] | None = None,
) -> str:
    """Store the mail and enqueue its sending, inside the caller's transaction; `attachment` is one file
    (name, content type, content)."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown e-mail template {template!r}")
    subject, text, html = render(template, language, context)
    email_id = new_id("eml")
    name, content_type, content = attachment or (None, None, None)
    await sql.execute(
        "INSERT INTO email_outbox (id, business_id, to_address, subject, text_body, html_body, status, "
        "created_at, attachment_name, attachment_type, attachment) "
        "VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, $10)",
        email_id,
        business_id,
        to,
        subject,
        text,
        html,
        clock.now(),
        name,
        content_type,
        content,
    )
    await enqueue(SEND_JOB, {"email_id": email_id}, dedupe_key=email_id)
    return email_id


async def send(email_id: str) -> str:
    """Send one stored mail (idempotent: a mail already sent is not sent again). Returns its status."""
    import aiosmtplib

    row = await sql.fetchrow("SELECT * FROM email_outbox WHERE id = $1", email_id)
    if row is None or row["status"] in ("sent", "outbox"):
        return row["status"] if row else "missing"
    smtp = get_settings().smtp
    if not smtp.configured:
        await sql.execute("UPDATE email_outbox SET status = 'outbox' WHERE id = $1", email_id)
        return "outbox"
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = row["to_address"]
    message["Subject"] = row["subject"]
    message["Message-ID"] = f"<{email_id}@neraca>"
    message.set_content(row["text_body"])
    message.add_alternative(row["html_body"], subtype="html")
    if row["attachment"] is not None:
        maintype, _, subtype = (
            (row["attachment_type"] or "application/octet-stream").partition(";")[0].partition("/")
        )
        message.add_attachment(
            bytes(row["attachment"]), maintype=maintype, subtype=subtype, filename=row["attachment_name"]
        )
    try:
        await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password,
            use_tls=smtp.use_tls,
            start_tls=smtp.start_tls,
            timeout=30,
        )
    except Exception as exc:
        await sql.execute(
            "UPDATE email_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
            email_id,
            f"{exc.__class__.__name__}: {exc}"[:500],
        )
        raise
    await sql.execute(
        "UPDATE email_outbox SET status = 'sent', attempts = attempts + 1, sent_at = $2, last_error = NULL "
        "WHERE id = $1",
        email_id,
        clock.now(),
    )
    return "sent"


async def outbox(limit: int = 100) -> list[dict[str, Any]]:
    rows = await sql.fetch("SELECT * FROM email_outbox ORDER BY created_at DESC LIMIT $1", limit)
    return [dict(r) for r in rows]


async def send_pending() -> int:
    """Send every queued mail now (for `neraca` commands and tests without a worker)."""
    rows = await sql.fetch("SELECT id FROM email_outbox WHERE status = 'queued' ORDER BY created_at")
    for row in rows:
        await send(row["id"])
    return len(rows)
