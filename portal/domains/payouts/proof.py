"""Proof of payment: for a succeeded payout, a page and a PDF with the bank's reference, the rail, amounts
and fee, the beneficiary (number masked), timestamps and a verification code the portal checks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import jinja2

from portal.domains.payouts import lifecycle, services
from portal.domains.payouts.router import WIB
from portal.domains.payouts.schemas import PayoutOut, ProofCheck
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, ValidationFailed
from portal.lib.i18n import N_, babel_locale, gettext
from portal.lib.money import format_money

_TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "payouts"
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=True, undefined=jinja2.StrictUndefined
)


async def proof_payout(actor: Actor, payout_id: str) -> PayoutOut:
    """The payout a proof is made for: succeeded (or succeeded then reversed, which the proof says)."""
    payout = await lifecycle.get_payout(actor, payout_id)
    if payout.status not in ("succeeded", "reversed"):
        raise Conflict(
            N_("Payout %(id)s has not succeeded: there is no proof of payment."),
            params={"id": payout_id},
            code="payout_not_succeeded",
        )
    return payout


def proof_rows(payout: PayoutOut, bank_name: str) -> list[tuple[str, str]]:
    """The proof's lines (label, value) in the current language, for the page and the PDF."""
    locale = babel_locale()

    def when(value: Any) -> str:
        return value.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S WIB") if value else "-"

    destination = bank_name if payout.destination_kind == "bank" else (payout.wallet or "")
    return [
        (gettext("Payout"), payout.id),
        (gettext("Status"), gettext("Reversed") if payout.status == "reversed" else gettext("Succeeded")),
        (gettext("Bank reference"), payout.bank_reference or "-"),
        (gettext("Rail"), payout.rail),
        (gettext("Amount"), format_money(payout.amount, payout.currency, locale)),
        (gettext("Fee"), format_money(payout.fee, payout.currency, locale)),
        (gettext("Total debited"), format_money(payout.total, payout.currency, locale)),
        (gettext("Beneficiary"), payout.holder_name),
        (gettext("Bank or e-wallet"), destination),
        (gettext("Account number"), payout.account_number),
        (gettext("Your reference"), payout.reference),
        (gettext("Created"), when(payout.created_at)),
        (gettext("Sent"), when(payout.submitted_at)),
        (gettext("Completed"), when(payout.completed_at)),
        (gettext("Verification code"), payout.verification_code or "-"),
    ]


async def bank_name(code: str | None) -> str:
    if not code:
        return ""
    name = await sql.fetchval("SELECT name FROM ref_banks WHERE code = $1", code)
    return f"{name} ({code})" if name else code


async def proof_pdf(actor: Actor, payout_id: str) -> tuple[str, bytes]:
    """(file name, PDF bytes) of the proof of payment."""
    payout = await proof_payout(actor, payout_id)
    rows = proof_rows(payout, await bank_name(payout.bank_code))
    html = _ENV.get_template("proof_pdf.html").render(
        title=gettext("Proof of payment"),
        rows=rows,
        note=gettext("Check this proof at /payouts/verify with the payout id and the verification code."),
    )
    return f"proof-{payout.id}.pdf", await asyncio.to_thread(_pdf, html, payout.id)


def _pdf(html: str, payout_id: str) -> bytes:
    from weasyprint import HTML  # heavy import (pango via cffi); only when a PDF is asked for
    from weasyprint.urls import URLFetcher

    data = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf(
        pdf_identifier=payout_id.encode()
    )
    assert data is not None
    return bytes(data)


async def verify_proof(actor: Actor, payout_id: Any, code: Any) -> ProofCheck:
    """Check a proof's verification code against the payout it names (any signed-in user may: the
    recipient of a proof is often another business). Shows only what the proof itself shows."""
    pid = str(payout_id or "").strip()
    text = str(code or "").strip().upper()
    if not services.is_id(pid, "po") or len(text) > 40:
        raise ValidationFailed(
            N_("Give the payout id and the verification code printed on the proof."),
            code="invalid_proof_query",
            errors=[FieldError("/payout_id", N_("not a payout id"))],
        )
    # Across businesses on purpose: a proof is checked by whoever received it (the code is the secret).
    row = await sql.fetchrow(
        f"SELECT {lifecycle.PAYOUT_COLUMNS} FROM payout WHERE id = $1 AND verification_code = $2 "
        "AND business_id IS NOT NULL",
        pid,
        text,
    )
    if row is None or row["status"] not in ("succeeded", "reversed"):
        return ProofCheck(valid=False)
    expected = lifecycle.verification_code(row["business_id"], row["id"], row["bank_reference"] or "")
    if expected != text:
        return ProofCheck(valid=False)
    return ProofCheck(
        valid=True,
        payout_id=row["id"],
        amount=int(row["amount"]),
        currency=row["currency"],
        rail=row["rail"],
        bank_reference=row["bank_reference"],
        account_number=services.mask(row["account_number"]),
        holder_name=row["holder_name"],
        completed_at=row["completed_at"],
        status=row["status"],
    )
