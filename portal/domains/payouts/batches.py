"""Batch payouts `pob_…`: an uploaded CSV/XLSX file's rows staged and validated (each error on its row
and column), fixed or deleted in the portal, submitted (one payout per row, each held, awaiting
approval), then approved as one with an authenticator code (every payout scheduled) or rejected (every
hold voided). Progress, per-row results and totals come from the payouts themselves.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.ledger.services.shared import audit
from portal.domains.payouts import lifecycle, services, upload
from portal.domains.payouts.router import WALLETS, NoRail, route
from portal.domains.payouts.schemas import BatchDetail, BatchOut, BatchRowError, BatchRowOut
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, NotFound, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.sql import transaction

_DIGITS = re.compile(r"^[0-9]{6,20}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
ROW_COLUMNS = (
    "business_id, batch_id, row_no, reference, amount, code, account_number, holder_name, description, "
    "email, "
    "rail, fee, errors, deleted, payout_id"
)
TEMPLATE = (
    "reference,amount,code,account_number,holder_name,description,email\r\n"
    "PAY-0001,150000,014,8800112233,Budi Santoso,November commission,budi@example.com\r\n"
    "PAY-0002,50000,OVO,081234567890,Agus Pratama,Refund,\r\n"
)


@dataclass
class BatchSummary:
    id: str
    account_id: str
    filename: str
    status: str
    created_by_name: str
    approved_by_name: str | None
    created_at: Any
    rows: int
    invalid: int
    total_amount: int
    total_fee: int
    progress: dict[str, int]


# --- validation -----------------------------------------------------------------------------------


def _error(column: str, message: str, **params: Any) -> dict[str, Any]:
    return {"column": column, "message": message, "params": params}


def validate_row(
    cells: dict[str, str],
    *,
    banks: set[str],
    rails: list[Any],
    calendar: Any,
    duplicate: bool,
    used: bool,
    quotes: dict[tuple[str, tuple[str, ...]], tuple[str, int]] | None = None,
) -> tuple[list[dict[str, Any]], str | None, int | None]:
    """(errors, rail, fee) of one row: code, number format, rail limits, duplicates, e-mail. `quotes`
    (one dict for a whole file) keeps the router's choice per destination and set of eligible rails: the
    choice does not depend on the amount beyond which rails carry it, so a file routes once per set."""
    errors: list[dict[str, Any]] = []
    reference = cells["reference"]
    if not reference or len(reference) > 100:
        errors.append(_error("reference", N_("required, at most 100 characters")))
    elif duplicate:
        errors.append(_error("reference", N_("appears more than once in the file")))
    elif used:
        errors.append(_error("reference", N_("already used by an earlier payout or transfer")))
    amount_text = cells["amount"].replace(".", "").replace(",", "") if cells["amount"].isascii() else ""
    amount = int(amount_text) if amount_text.isdigit() else 0
    if amount < 1:
        errors.append(_error("amount", N_("must be a positive whole number")))
    code = cells["code"].upper()
    destination = None
    if code in WALLETS:
        destination = code
        try:
            cells["account_number"] = services.mobile_number(cells["account_number"], "/account_number")
        except ValidationFailed:
            errors.append(_error("account_number", N_("not an Indonesian mobile number")))
    elif code in banks:
        destination = "bank"
        if not _DIGITS.match(cells["account_number"].replace(" ", "").replace("-", "")):
            errors.append(_error("account_number", N_("6 to 20 digits")))
    else:
        errors.append(_error("code", N_("unknown bank or e-wallet code")))
    holder = " ".join(cells["holder_name"].split())
    if not holder or len(holder) > 100:
        errors.append(_error("holder_name", N_("required, at most 100 characters")))
    if len(cells["description"]) > 140:
        errors.append(_error("description", N_("at most 140 characters")))
    if cells["email"] and not _EMAIL.match(cells["email"]):
        errors.append(_error("email", N_("not an e-mail address")))
    rail = fee = None
    if destination and amount >= 1:
        eligible = tuple(r.code for r in rails if r.carries(amount, destination))
        known = quotes.get((destination, eligible)) if quotes is not None and eligible else None
        try:
            if known is None:
                quote = route(rails, amount, destination, clock.now(), calendar)
                known = quote.rail.code, quote.fee
                if quotes is not None and eligible:
                    quotes[(destination, eligible)] = known
            rail, fee = known
        except NoRail as refused:
            reason = {
                "below_minimum": N_("below the rail's minimum"),
                "above_maximum": N_("above every rail's limit"),
            }
            errors.append(_error("amount", reason.get(refused.reason, N_("no rail for this destination"))))
    return errors, rail, fee


async def _used_references(business_id: str, references: list[str]) -> set[str]:
    rows = await sql.fetch(
        "SELECT reference FROM ledger_reference WHERE business_id = $1 AND reference = ANY($2::text[])",
        business_id,
        references,
    )
    return {r["reference"] for r in rows}


# --- upload ---------------------------------------------------------------------------------------


async def upload_batch(actor: Actor, filename: str, data: bytes, *, account_id: str | None = None) -> str:
    """Read, validate and stage a file's rows (nothing is held yet); returns the batch id. A file
    refused as a whole (columns, size, encoding, formulas, an XLSX bomb) writes nothing."""
    actor.require("payouts", "manage")
    name = services.optional_text(filename, "/filename", 200) or "batch.csv"
    rows = upload.read_rows(name, data)
    account = (
        await accounts.get_account_row(actor, account_id)
        if account_id
        else (
            await accounts.get_account_row(actor, actor.scope_account_id) if actor.scope_account_id else None
        )
    )
    owner = account.id if account else (await accounts.main_account(actor)).id
    banks = {r["code"] for r in await sql.fetch("SELECT code FROM ref_banks")}
    rails = await services.load_rails(actor.business_id)
    calendar = await services.load_calendar()
    references = [r[0] for r in rows]
    counts = Counter(references)
    used = await _used_references(actor.business_id, [r for r in counts if r])
    batch_id = new_id("pob")
    records = []
    quotes: dict[tuple[str, tuple[str, ...]], tuple[str, int]] = {}
    for number, row in enumerate(rows, start=2):
        cells = dict(zip(upload.COLUMNS, row, strict=True))
        errors, rail, fee = validate_row(
            cells,
            banks=banks,
            rails=rails,
            calendar=calendar,
            duplicate=counts[cells["reference"]] > 1,
            used=cells["reference"] in used,
            quotes=quotes,
        )
        records.append(
            (
                actor.business_id,
                batch_id,
                number,
                cells["reference"],
                cells["amount"],
                cells["code"].upper(),
                cells["account_number"],
                " ".join(cells["holder_name"].split()),
                cells["description"],
                cells["email"],
                rail,
                fee,
                json.dumps(errors),
                False,
                None,
            )
        )
    async with transaction():
        await sql.execute(
            "INSERT INTO payout_batch (business_id, id, account_id, filename, created_by, created_by_name) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            actor.business_id,
            batch_id,
            owner,
            name,
            actor.user_id,
            actor.name,
        )
        async with sql.connection() as conn:
            await conn.copy_records_to_table(
                "payout_batch_row", records=records, columns=[c.strip() for c in ROW_COLUMNS.split(",")]
            )
        await audit(
            actor,
            "payout_batch.uploaded",
            f"Batch {name} uploaded: {len(records)} rows",
            {"payout_batch_id": batch_id, "account_id": owner},
        )
    return batch_id


# --- reading --------------------------------------------------------------------------------------


def _not_found(batch_id: str) -> NotFound:
    return NotFound(
        N_("Batch %(id)s was not found."),
        params={"id": batch_id[:40]},
        errors=[FieldError("/batch_id", N_("not found"))],
    )


async def _batch(actor: Actor, batch_id: str, *, lock: bool = False) -> asyncpg.Record:
    if not services.is_id(batch_id, "pob"):
        raise _not_found(batch_id)
    row = await sql.fetchrow(
        "SELECT * FROM payout_batch WHERE business_id = $1 AND id = $2" + (" FOR UPDATE" if lock else ""),
        actor.business_id,
        batch_id,
    )
    if row is None:
        raise _not_found(batch_id)
    try:
        await accounts.get_account_row(actor, row["account_id"])
    except NotFound:
        raise _not_found(batch_id) from None
    return row


async def find_batch(actor: Actor, batch_id: str) -> None:
    """NotFound unless the actor may see the batch."""
    await _batch(actor, batch_id)


async def batch_rows(
    actor: Actor, batch_id: str, *, limit: int = 500, offset: int = 0
) -> list[dict[str, Any]]:
    """The batch's rows (not deleted) with their errors and, once submitted, their payout's state."""
    actor.require("payouts", "view")
    await _batch(actor, batch_id)
    rows = await sql.fetch(
        "SELECT r.row_no, r.reference, r.amount, r.code, r.account_number, r.holder_name, r.description, "
        "r.email, r.rail, r.fee, r.errors, r.payout_id, p.status, p.bank_reference, p.failure_code "
        "FROM payout_batch_row r LEFT JOIN payout p ON p.business_id = r.business_id AND p.id = r.payout_id "
        "WHERE r.business_id = $1 AND r.batch_id = $2 AND NOT r.deleted ORDER BY r.row_no LIMIT $3 OFFSET $4",
        actor.business_id,
        batch_id,
        limit,
        offset,
    )
    out = []
    for r in rows:
        item = dict(r)
        item["errors"] = json.loads(r["errors"]) if isinstance(r["errors"], str) else r["errors"]
        out.append(item)
    return out


async def get_batch(actor: Actor, batch_id: str) -> BatchSummary:
    """The batch with its counts, totals (valid rows) and progress (payouts by state)."""
    actor.require("payouts", "view")
    batch = await _batch(actor, batch_id)
    totals = await sql.fetchrow(
        "SELECT count(*) AS rows, count(*) FILTER (WHERE errors <> '[]'::jsonb) AS invalid, "
        "coalesce(sum(CASE WHEN errors = '[]'::jsonb THEN amount::bigint END), 0) AS amount, "
        "coalesce(sum(CASE WHEN errors = '[]'::jsonb THEN fee END), 0) AS fee "
        "FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 AND NOT deleted",
        actor.business_id,
        batch_id,
    )
    assert totals is not None
    progress = {
        r["status"]: int(r["n"])
        for r in await sql.fetch(
            "SELECT status, count(*) AS n FROM payout WHERE business_id = $1 AND batch_id = $2 GROUP BY "
            "status",
            actor.business_id,
            batch_id,
        )
    }
    return BatchSummary(
        id=batch["id"],
        account_id=batch["account_id"],
        filename=batch["filename"],
        status=batch["status"],
        created_by_name=batch["created_by_name"],
        approved_by_name=batch["approved_by_name"],
        created_at=batch["created_at"],
        rows=int(totals["rows"]),
        invalid=int(totals["invalid"]),
        total_amount=int(totals["amount"]),
        total_fee=int(totals["fee"]),
        progress=progress,
    )


async def list_batches(actor: Actor, *, limit: int = 50) -> list[BatchSummary]:
    """The business's recent batches in scope, newest first."""
    actor.require("payouts", "view")
    rows = await sql.fetch(
        "SELECT id FROM payout_batch WHERE business_id = $1 ORDER BY id DESC LIMIT $2",
        actor.business_id,
        limit,
    )
    out = []
    for row in rows:
        try:
            out.append(await get_batch(actor, row["id"]))
        except NotFound:
            continue
    return out


def row_number(text: str) -> int:
    """A row number from a path (2 to 10,001), else NotFound."""
    if not text.isdigit() or not 2 <= int(text) <= upload.MAX_ROWS + 1:
        raise NotFound(N_("Row %(row)s was not found."), params={"row": text[:12]}, code="row_not_found")
    return int(text)


# --- fixing ---------------------------------------------------------------------------------------


def _draft(batch: asyncpg.Record) -> None:
    if batch["status"] != "draft":
        raise Conflict(
            N_("Batch %(id)s was already submitted; its rows can no longer change."),
            params={"id": batch["id"]},
            code="batch_not_draft",
        )


async def fix_row(actor: Actor, batch_id: str, row_no: int, fields: dict[str, str]) -> list[dict[str, Any]]:
    """Change a draft row's cells and validate it again (and the rows sharing its old or new reference);
    returns its errors (empty: the row is valid)."""
    actor.require("payouts", "manage")
    async with transaction():
        batch = await _batch(actor, batch_id, lock=True)
        _draft(batch)
        current = await sql.fetchrow(
            "SELECT * FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 AND row_no = $3 "
            "AND NOT deleted",
            actor.business_id,
            batch_id,
            row_no,
        )
        if current is None:
            raise NotFound(N_("Row %(row)s was not found."), params={"row": row_no}, code="row_not_found")
        cells = {c: str(fields.get(c, current[c]) or "").strip() for c in upload.COLUMNS}
        for column, value in cells.items():
            if len(value) > 200 or upload.is_dangerous(value):
                raise ValidationFailed(
                    N_("Formulas and cells longer than 200 characters are not accepted."),
                    code="invalid_cell",
                    errors=[FieldError(f"/{column}", N_("not accepted"))],
                )
        await sql.execute(
            "UPDATE payout_batch_row SET reference = $4, amount = $5, code = $6, account_number = $7, "
            "holder_name = $8, description = $9, email = $10 "
            "WHERE business_id = $1 AND batch_id = $2 AND row_no = $3",
            actor.business_id,
            batch_id,
            row_no,
            cells["reference"],
            cells["amount"],
            cells["code"].upper(),
            cells["account_number"],
            " ".join(cells["holder_name"].split()),
            cells["description"],
            cells["email"],
        )
        errors = await _revalidate(actor, batch_id, {current["reference"], cells["reference"]}, row_no)
    return errors


async def _revalidate(actor: Actor, batch_id: str, references: set[str], row_no: int) -> list[dict[str, Any]]:
    """Validate again the rows with these references (duplicates change together); the errors of `row_no`."""
    rows = await sql.fetch(
        "SELECT * FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 AND NOT deleted "
        "AND (reference = ANY($3::text[]) OR row_no = $4)",
        actor.business_id,
        batch_id,
        list(references),
        row_no,
    )
    counts = Counter(
        r["reference"]
        for r in await sql.fetch(
            "SELECT reference FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 AND NOT deleted "
            "AND reference = ANY($3::text[])",
            actor.business_id,
            batch_id,
            [r["reference"] for r in rows],
        )
    )
    used = await _used_references(actor.business_id, [r["reference"] for r in rows])
    banks = {r["code"] for r in await sql.fetch("SELECT code FROM ref_banks")}
    rails = await services.load_rails(actor.business_id)
    calendar = await services.load_calendar()
    mine: list[dict[str, Any]] = []
    for row in rows:
        cells = {c: row[c] for c in upload.COLUMNS}
        errors, rail, fee = validate_row(
            cells,
            banks=banks,
            rails=rails,
            calendar=calendar,
            duplicate=counts[row["reference"]] > 1,
            used=row["reference"] in used,
        )
        await sql.execute(
            "UPDATE payout_batch_row SET account_number = $4, rail = $5, fee = $6, errors = $7::jsonb "
            "WHERE business_id = $1 AND batch_id = $2 AND row_no = $3",
            actor.business_id,
            batch_id,
            row["row_no"],
            cells["account_number"],
            rail,
            fee,
            json.dumps(errors),
        )
        if row["row_no"] == row_no:
            mine = errors
    return mine


async def delete_row(actor: Actor, batch_id: str, row_no: int) -> None:
    """Leave a row of a draft batch out."""
    actor.require("payouts", "manage")
    async with transaction():
        _draft(await _batch(actor, batch_id, lock=True))
        reference = await sql.fetchval(
            "UPDATE payout_batch_row SET deleted = true WHERE business_id = $1 AND batch_id = $2 AND "
            "row_no = $3 RETURNING reference",
            actor.business_id,
            batch_id,
            row_no,
        )
        if reference is not None:  # a duplicate left alone is no longer one
            await _revalidate(actor, batch_id, {reference}, row_no)


# --- submission and decision ----------------------------------------------------------------------


async def submit_batch(actor: Actor, batch_id: str) -> BatchSummary:
    """Turn every row into a payout awaiting approval, each with amount + fee held, in one transaction:
    refused while a row is invalid, or (by the ledger) when the account cannot cover them all."""
    actor.require("payouts", "manage")
    async with transaction():
        batch = await _batch(actor, batch_id, lock=True)
        _draft(batch)
        rows = await sql.fetch(
            "SELECT * FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 AND NOT deleted "
            "ORDER BY row_no",
            actor.business_id,
            batch_id,
        )
        invalid = [r["row_no"] for r in rows if _errors(r)]
        if invalid or not rows:
            raise ValidationFailed(
                N_("Fix or delete the rows with errors first (%(count)s left)."),
                params={"count": len(invalid)},
                code="batch_has_invalid_rows" if rows else "batch_empty",
            )
        rails = {r.code: r for r in await services.load_rails(actor.business_id)}
        account = await accounts.get_account_row(actor, batch["account_id"])
        for row in rows:
            wallet = row["code"] if row["code"] in WALLETS else None
            payout = await lifecycle.insert_payout(
                actor,
                account_id=account.id,
                currency=account.currency,
                destination={
                    "destination_kind": "ewallet" if wallet else "bank",
                    "bank_code": None if wallet else row["code"],
                    "wallet": wallet,
                    "account_number": row["account_number"].replace(" ", "").replace("-", ""),
                    "holder_name": row["holder_name"],
                },
                rail=rails[row["rail"]],
                fee=int(row["fee"]),
                amount=int(row["amount"].replace(".", "").replace(",", "")),
                reference=row["reference"],
                description=row["description"],
                batch_id=batch_id,
            )
            await sql.execute(
                "UPDATE payout_batch_row SET payout_id = $4 WHERE business_id = $1 AND batch_id = $2 AND "
                "row_no = $3",
                actor.business_id,
                batch_id,
                row["row_no"],
                payout.id,
            )
        await sql.execute(
            "UPDATE payout_batch SET status = 'submitted', submitted_at = now() WHERE business_id = $1 AND "
            "id = $2",
            actor.business_id,
            batch_id,
        )
        await audit(
            actor,
            "payout_batch.submitted",
            f"Batch {batch['filename']} submitted for approval: {len(rows)} payouts",
            {"payout_batch_id": batch_id, "account_id": account.id},
        )
    return await get_batch(actor, batch_id)


async def approve_batch(actor: Actor, batch_id: str, code: Any) -> BatchSummary:
    """Approve a submitted batch (another user than its maker, with their authenticator code): every
    payout of it is scheduled and sent when its rail is open."""
    batch = await _batch(actor, batch_id)
    lifecycle.require_checker(actor, batch["created_by"])
    async with transaction():
        batch = await _batch(actor, batch_id, lock=True)
        if batch["status"] != "submitted":
            raise _not_submitted(batch)
        await lifecycle.use_approval_code(actor, code)
        scheduled = await lifecycle.schedule_batch_approved(actor, batch_id)
        await sql.execute(
            "UPDATE payout_batch SET status = 'approved', approved_by = $3, approved_by_name = $4, "
            "decided_at = now() WHERE business_id = $1 AND id = $2",
            actor.business_id,
            batch_id,
            actor.user_id,
            actor.name,
        )
        await audit(
            actor,
            "payout_batch.approved",
            f"Batch {batch['filename']} approved: {scheduled} payouts",
            {"payout_batch_id": batch_id, "account_id": batch["account_id"]},
        )
    return await get_batch(actor, batch_id)


async def reject_batch(actor: Actor, batch_id: str, reason: Any) -> BatchSummary:
    """Reject a submitted batch: every payout of it is rejected and its holds voided."""
    actor.require("approvals", "manage")
    text = services.optional_text(reason, "/reason", 500)
    if not text:
        raise ValidationFailed(
            N_("Give a reason (at most 500 characters)."),
            code="reason_required",
            errors=[FieldError("/reason", N_("required"))],
        )
    async with transaction():
        batch = await _batch(actor, batch_id, lock=True)
        if batch["status"] != "submitted":
            raise _not_submitted(batch)
        ids = await sql.fetch(
            "SELECT id FROM payout WHERE business_id = $1 AND batch_id = $2 AND status = 'awaiting_approval'",
            actor.business_id,
            batch_id,
        )
        for row in ids:
            await lifecycle.reject_payout(actor, row["id"], text)
        await sql.execute(
            "UPDATE payout_batch SET status = 'rejected', decided_at = now() WHERE business_id = $1 AND id "
            "= $2",
            actor.business_id,
            batch_id,
        )
        await audit(
            actor,
            "payout_batch.rejected",
            f"Batch {batch['filename']} rejected: {text}",
            {"payout_batch_id": batch_id, "account_id": batch["account_id"]},
        )
    return await get_batch(actor, batch_id)


def _errors(row: asyncpg.Record) -> list[Any]:
    value = row["errors"]
    return list(json.loads(value) if isinstance(value, str) else value)


def _not_submitted(batch: asyncpg.Record) -> Conflict:
    return Conflict(
        N_("Batch %(id)s is %(status)s, not awaiting approval."),
        params={"id": batch["id"], "status": batch["status"]},
        code="batch_not_awaiting_approval",
    )


async def batches_awaiting(actor: Actor) -> list[BatchSummary]:
    """Submitted batches in scope (the approvals queue)."""
    rows = await sql.fetch(
        "SELECT id FROM payout_batch WHERE business_id = $1 AND status = 'submitted' ORDER BY id",
        actor.business_id,
    )
    out = []
    for row in rows:
        try:
            out.append(await get_batch(actor, row["id"]))
        except NotFound:
            continue
    return out


async def export_batch(actor: Actor, batch_id: str) -> tuple[str, str]:
    """(file name, CSV) of the batch's rows with their results (formula-escaped text)."""
    from portal.lib.spreadsheet import escape_text

    batch = await _batch(actor, batch_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            *upload.COLUMNS,
            "row",
            "rail",
            "fee",
            "errors",
            "payout_id",
            "status",
            "bank_reference",
            "failure_code",
        ]
    )
    for r in await batch_rows(actor, batch_id, limit=upload.MAX_ROWS):
        writer.writerow(
            [escape_text(str(r[c])) for c in upload.COLUMNS]
            + [
                r["row_no"],
                r["rail"] or "",
                r["fee"] if r["fee"] is not None else "",
                "; ".join(f"{e['column']}: {e['message']}" for e in r["errors"]),
                r["payout_id"] or "",
                r["status"] or "",
                escape_text(r["bank_reference"]),
                r["failure_code"] or "",
            ]
        )
    return f"{batch['filename'].rsplit('.', 1)[0]}-results.csv", out.getvalue()


def _row_error(error: dict[str, Any]) -> BatchRowError:
    from portal.lib.i18n import gettext

    msgid = str(error["message"])
    return BatchRowError(str(error["column"]), gettext(msgid))


def batch_out(summary: BatchSummary) -> BatchOut:
    return BatchOut(
        id=summary.id,
        account_id=summary.account_id,
        filename=summary.filename,
        status=summary.status,
        rows=summary.rows,
        invalid=summary.invalid,
        total_amount=summary.total_amount,
        total_fee=summary.total_fee,
        progress=summary.progress,
        created_by_name=summary.created_by_name,
        approved_by_name=summary.approved_by_name,
        created_at=summary.created_at,
    )


async def batch_detail(actor: Actor, batch_id: str) -> BatchDetail:
    """The batch and its rows, translated messages included (the API's shape)."""
    summary = await get_batch(actor, batch_id)
    rows = await batch_rows(actor, batch_id, limit=upload.MAX_ROWS)
    return BatchDetail(
        batch=batch_out(summary),
        data=[
            BatchRowOut(
                row=r["row_no"],
                reference=r["reference"],
                amount=r["amount"],
                code=r["code"],
                account_number=r["account_number"],
                holder_name=r["holder_name"],
                description=r["description"],
                email=r["email"],
                rail=r["rail"],
                fee=r["fee"],
                errors=[_row_error(e) for e in r["errors"]],
                payout_id=r["payout_id"],
                status=r["status"],
                bank_reference=r["bank_reference"],
                failure_code=r["failure_code"],
            )
            for r in rows
        ],
    )
