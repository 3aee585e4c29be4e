"""Identity jobs: sending e-mail (retried with back-off by the worker)."""

from __future__ import annotations

from typing import Any

from portal.domains.identity import mail
from portal.lib.jobs import job


@job(mail.SEND_JOB, max_attempts=10)
async def send_email(payload: dict[str, Any]) -> None:
    await mail.send(str(payload["email_id"]))
