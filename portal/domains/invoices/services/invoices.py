"""Reading invoices (scoped: partner and division users see their own subtree's) and acting on them:
collect now, void an open invoice, credit-note a paid one (a reversal of its payments), write off."""

from __future__ import annotations

from typing import Any

import asyncpg

from portal.domains.invoices.schemas import InvoiceOut, InvoicePage
from portal.domains.invoices.services.cycle import INVOICE_COLUMNS, _events, _steps, collect_rows
from portal.domains.invoices.services.shared import (
    audit,
    check_id,
    invoice_out,
    not_found,
    number_label,
    optional_id,
    scope_clause,
    today,
    whole_number,
)
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import N_, Conflict
from portal.lib.ids import new_id
from portal.lib.sql import transaction

STATUSES = ("open", "paid", "void", "written_off", "credited")


async def invoice_row(actor: Actor, invoice_id: Any, *, lock: bool = False) -> asyncpg.Record:
    checked = check_id(invoice_id, "inv", "invoice", "/invoice_id")
    args: list[Any] = [checked]
    where = scope_clause(actor, args)
    row = await sql.fetchrow(
        f"SELECT {INVOICE_COLUMNS} FROM invoice i WHERE i.id = $1 AND {where}"
        + (" FOR UPDATE OF i" if lock else ""),
        *args,
    )
    if row is None:
        raise not_found("invoice", checked, "/invoice_id")
    return row


async def find_invoice(actor: Actor, invoice_id: str) -> None:
    """NotFound unless the actor may see the invoice."""
    await invoice_row(actor, invoice_id)


async def steps_of(business_id: str, invoice_id: str) -> list[asyncpg.Record]:
    return await sql.fetch(
        "SELECT at, kind, amount, detail FROM invoice_step WHERE business_id = $1 AND invoice_id = $2 "
        "ORDER BY seq",
        business_id,
        invoice_id,
    )


async def get_invoice(actor: Actor, invoice_id: str) -> InvoiceOut:
    """One invoice in the actor's business and scope, with its steps."""
    actor.require("invoices", "view")
    row = await invoice_row(actor, invoice_id)
    return invoice_out(row, await steps_of(actor.business_id, row["id"]))


async def list_invoices(
    actor: Actor,
    *,
    status: str | None = None,
    account_id: str | None = None,
    subscription_id: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> InvoicePage:
    """Invoices in scope, newest number first, cursor-paginated by id."""
    actor.require("invoices", "view")
    size = whole_number(50 if limit is None else limit, "/limit", low=1, high=200)
    args: list[Any] = []
    where = scope_clause(actor, args)
    if status:
        if status not in STATUSES and status != "overdue":
            from portal.domains.invoices.services.shared import invalid

            raise invalid(
                N_("Unknown invoice status %(status)s."),
                "invalid_status",
                "/status",
                N_("unknown status"),
                {"status": status[:20]},
            )
        if status == "overdue":
            where += " AND i.status = 'open' AND i.overdue"
        else:
            args.append(status)
            where += f" AND i.status = ${len(args)}"
    account_id = optional_id(account_id, "/account_id")
    subscription_id = optional_id(subscription_id, "/subscription_id")
    after = optional_id(after, "/after")
    if account_id:
        args.append(account_id)
        where += f" AND i.account_id = ${len(args)}"
    if subscription_id:
        args.append(subscription_id)
        where += f" AND i.subscription_id = ${len(args)}"
    if after:
        number = await sql.fetchval(
            "SELECT number FROM invoice WHERE business_id = $1 AND id = $2", actor.business_id, after
        )
        args.append(number if number is not None else 0)
        where += f" AND i.number < ${len(args)}"
    args.append(size + 1)
    rows = await sql.fetch(
        f"SELECT {INVOICE_COLUMNS} FROM invoice i WHERE {where} ORDER BY i.number DESC LIMIT ${len(args)}",
        *args,
    )
    data = [invoice_out(r) for r in rows[:size]]
    more = len(rows) > size
    return InvoicePage(data, more, data[-1].id if more and data else None)


def _wrong_status(row: Any, action: str) -> Conflict:
    messages = {
        "void": N_(
            "Invoice %(number)s is %(status)s; only an open invoice with nothing collected can be voided."
        ),
        "credit": N_("Invoice %(number)s is %(status)s; only a paid invoice can be credited."),
        "write_off": N_("Invoice %(number)s is %(status)s; only an open invoice can be written off."),
        "collect": N_("Invoice %(number)s is %(status)s; only an open invoice can be collected."),
    }
    return Conflict(
        messages[action],
        params={"number": number_label(row["number"]), "status": row["status"]},
        code="invoice_not_" + {"credit": "paid"}.get(action, "open"),
    )


async def _close(
    actor: Actor, row: Any, *, status: str, step: str, amount: int, detail: dict[str, Any], extra: str = ""
) -> asyncpg.Record:
    updated = await sql.fetchrow(
        f"UPDATE invoice i SET status = $3, next_attempt_on = NULL, closed_at = $4 {extra} "
        f"WHERE i.business_id = $1 AND i.id = $2 RETURNING {INVOICE_COLUMNS}",
        actor.business_id,
        row["id"],
        status,
        clock.now(),
        *([amount] if extra else []),
    )
    assert updated is not None
    await _steps([(actor.business_id, row["id"], step, amount, detail)])
    return updated


async def void_invoice(actor: Actor, invoice_id: str) -> InvoiceOut:
    """Void an open invoice nothing was collected on: it is no longer owed and leaves the billed total."""
    actor.require("invoices", "manage")
    async with transaction():
        row = await invoice_row(actor, invoice_id, lock=True)
        if row["status"] != "open" or row["paid_amount"]:
            raise _wrong_status(row, "void")
        updated = await _close(actor, row, status="void", step="voided", amount=row["total"], detail={})
        await audit(actor, "invoice.voided", f"Invoice {number_label(row['number'])} voided", _refs(row))
    return invoice_out(updated, await steps_of(actor.business_id, row["id"]))


async def write_off(actor: Actor, invoice_id: str) -> InvoiceOut:
    """Write off what is still due on an open invoice (what was collected stays collected)."""
    actor.require("invoices", "manage")
    async with transaction():
        row = await invoice_row(actor, invoice_id, lock=True)
        if row["status"] != "open":
            raise _wrong_status(row, "write_off")
        due = row["total"] - row["paid_amount"]
        updated = await _close(
            actor,
            row,
            status="written_off",
            step="written_off",
            amount=due,
            detail={},
            extra=", written_off_amount = $5",
        )
        await audit(
            actor,
            "invoice.written_off",
            f"Invoice {number_label(row['number'])} written off ({due})",
            _refs(row),
        )
    return invoice_out(updated, await steps_of(actor.business_id, row["id"]))


async def credit(actor: Actor, invoice_id: str, *, reason: str | None = None) -> InvoiceOut:
    """A credit note for a paid invoice: every payment is reversed (receiving account → billed account)
    by one all-or-nothing ledger group; refused like any transfer when the receiving account is short."""
    actor.require("invoices", "manage")
    async with transaction():
        row = await invoice_row(actor, invoice_id, lock=True)
        if row["status"] != "paid":
            raise _wrong_status(row, "credit")
        label = number_label(row["number"])
        payments = await sql.fetch(
            "SELECT id, debit_account_id, credit_account_id, amount FROM transfer "
            "WHERE business_id = $1 AND debit_account_id = $2 AND metadata->>'invoice_id' = $3 "
            "AND kind = 'transfer' ORDER BY seq",
            actor.business_id,
            row["account_id"],
            row["id"],
        )
        legs = [
            Leg(
                p["credit_account_id"],
                p["debit_account_id"],
                int(p["amount"]),
                kind="reversal",
                description=f"Credit note for invoice {label}",
                metadata={"invoice_id": row["id"], "invoice_number": label, "credit_note": True},
                reverses_id=p["id"],
            )
            for p in payments
        ]
        transfers: list[dict[str, Any]] = []
        if legs:
            group_id = new_id("grp")
            op = Operation(
                actor.business_id,
                legs,
                reference=f"{label}-CN",
                reference_object_id=group_id,
                group_id=group_id,
            )
            result = await engine.execute(op)
            transfers = result.transfers
        updated = await _close(
            actor,
            row,
            status="credited",
            step="credited",
            amount=row["paid_amount"],
            detail={"reason": (reason or "")[:200], "transfer_ids": [t["id"] for t in transfers]},
            extra=", credited_amount = $5",
        )
        await _transfer_events(transfers)
        await audit(actor, "invoice.credited", f"Invoice {label} credited ({row['paid_amount']})", _refs(row))
    return invoice_out(updated, await steps_of(actor.business_id, row["id"]))


async def _transfer_events(transfers: list[dict[str, Any]]) -> None:
    import msgspec

    from portal.domains.ledger.services import transfer_out

    await _events(
        [
            (
                t["business_id"],
                "transfer.created",
                msgspec.to_builtins(transfer_out(t)),
                (t["debit_account_id"], t["credit_account_id"]),
            )
            for t in transfers
        ]
    )


async def collect_now(actor: Actor, invoice_id: str) -> InvoiceOut:
    """Try to collect an open invoice at once (after a top-up, or once a frozen account is unfrozen)."""
    actor.require("invoices", "manage")
    async with transaction():
        row = await invoice_row(actor, invoice_id, lock=True)
        if row["status"] != "open":
            raise _wrong_status(row, "collect")
        full = await sql.fetchrow(
            f"SELECT {INVOICE_COLUMNS}, a.status AS account_status, a.email AS account_email, "
            "a.name AS account_name, a.credits_posted - a.debits_posted - a.debits_pending AS available "
            "FROM invoice i JOIN account a ON a.business_id = i.business_id AND a.id = i.account_id "
            "WHERE i.business_id = $1 AND i.id = $2",
            actor.business_id,
            row["id"],
        )
        await collect_rows([full], today())
        await audit(
            actor,
            "invoice.collect_requested",
            f"Collection of invoice {number_label(row['number'])}",
            _refs(row),
        )
    return await get_invoice(actor, row["id"])


def _refs(row: Any) -> dict[str, str]:
    return {"invoice_id": row["id"], "account_id": row["account_id"]}


async def invoice_pdf(actor: Actor, invoice_id: str) -> tuple[str, bytes]:
    """(file name, PDF bytes) of an invoice in the actor's scope."""
    from portal.domains.invoices.pdf import pdf_bytes

    invoice = await get_invoice(actor, invoice_id)
    names = {
        r["id"]: r["name"]
        for r in await sql.fetch(
            "SELECT id, name FROM account WHERE business_id = $1 AND id = ANY($2::text[])",
            actor.business_id,
            [invoice.account_id, invoice.receiving_account_id],
        )
    }
    data = pdf_bytes(
        invoice,
        account_name=names.get(invoice.account_id, invoice.account_id),
        receiver_name=names.get(invoice.receiving_account_id, invoice.receiving_account_id),
    )
    return f"{invoice.number}.pdf", data
