"""Batch uploads: Registration (billings with their schedules for existing customers) and Batch
Transaction (single payments, one Execute Date per row). A file is read with limits (size, rows, an
XLSX's unpacked size), every row validated and kept with its reasons; a file with invalid rows is
uploaded again, a valid one processed once."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from portal.domains.billing import schedule as schedules
from portal.domains.billing.schemas import BatchOut, BatchPage, BatchRowOut
from portal.domains.billing.services import common
from portal.domains.billing.services.billings import create_billing
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, Forbidden, NeracaError, ValidationFailed
from portal.lib.i18n import N_, gettext
from portal.lib.ids import new_id
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.spreadsheet import is_dangerous
from portal.lib.sql import transaction

KINDS = ("registration", "transaction")
COLUMNS = {
    "registration": (
        "customer_id",
        "billing_number",
        "amount",
        "type",
        "schedule_type",
        "day",
        "weekdays",
        "months",
        "dates",
        "description",
    ),
    "transaction": ("billing_number", "invoice_number", "amount", "execute_date", "description"),
}
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 100_000
# An XLSX is a zip: refuse one that unpacks far beyond its size (a zip bomb) before reading it.
MAX_UNPACKED = 60 * 1024 * 1024


@dataclass(frozen=True)
class BatchRow:
    line: int
    data: dict[str, str]
    errors: list[dict[str, str]]


def _require_whole_business(actor: Actor) -> None:
    """A file may name any customer or billing of the business: only a business-wide actor uploads."""
    actor.require("billing", "manage")
    if actor.scope_account_id is not None:
        raise Forbidden(N_("Only a user with access to the whole business can upload billing files."))


def _refused(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, errors=[FieldError("/file", message, code)])


def read_rows(content: bytes, file_name: str) -> list[list[str]]:
    """The cells of a CSV or XLSX file as text, first row included (formulas come back as their text,
    never computed)."""
    if len(content) > MAX_BYTES:
        raise _refused(N_("The file is larger than 5 MB."), "file_too_large")
    name = file_name.lower()
    if name.endswith(".xlsx"):
        try:
            archive = zipfile.ZipFile(io.BytesIO(content))
            unpacked = sum(info.file_size for info in archive.infolist())
        except zipfile.BadZipFile:
            raise _refused(N_("This is not an XLSX file."), "invalid_file") from None
        if unpacked > MAX_UNPACKED:
            raise _refused(N_("The XLSX file unpacks to too much data."), "file_too_large")
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
        except Exception:  # openpyxl raises many kinds on a damaged file
            raise _refused(N_("This is not an XLSX file."), "invalid_file") from None
        rows = []
        for values in book.worksheets[0].iter_rows(values_only=True):
            rows.append(
                ["" if v is None else (v.isoformat()[:10] if isinstance(v, date) else str(v)) for v in values]
            )
            if len(rows) > MAX_ROWS + 1:
                break
        book.close()
    elif name.endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _refused(N_("The CSV file must be UTF-8 text."), "invalid_file") from None
        rows = list(csv.reader(io.StringIO(text)))
    else:
        raise _refused(N_("Upload a CSV or XLSX file."), "invalid_file")
    if len(rows) > MAX_ROWS + 1:
        raise _refused(N_("A file holds at most 100,000 rows."), "too_many_rows")
    return rows


def _error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


async def validate(actor: Actor, kind: str, rows: list[list[str]]) -> list[BatchRow]:
    """Every data row checked against the business's customers and billings and the rest of the file."""
    columns = COLUMNS[kind]
    if not rows:
        raise _refused(N_("The file is empty."), "empty_file")
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    missing = [c for c in columns[:3] if c not in header]
    if missing:
        raise ValidationFailed(
            N_("The file lacks the columns %(columns)s: start from the template."),
            params={"columns": ", ".join(missing)},
            code="missing_columns",
            errors=[FieldError("/file", N_("columns missing"), "missing_columns")],
        )
    today = common.today()
    data_rows = [r for r in rows[1:] if any(cell.strip() for cell in r)]
    if kind == "registration":
        customers = {
            r["customer_ref"]
            for r in await sql.fetch(
                "SELECT customer_ref FROM billing_customer WHERE business_id = $1", actor.business_id
            )
        }
    known = {
        r["billing_number"]: r
        for r in await sql.fetch(
            "SELECT billing_number, status, card_status FROM billing WHERE business_id = $1",
            actor.business_id,
        )
    }
    used_invoices: set[str] = set()
    if kind == "transaction":
        used_invoices = {
            r["invoice_number"]
            for r in await sql.fetch(
                "SELECT invoice_number FROM billing_charge WHERE business_id = $1", actor.business_id
            )
        }
    seen: dict[str, int] = {}
    result = []
    for index, raw in enumerate(data_rows, start=2):
        data = {
            name: (
                raw[header.index(name)].strip() if name in header and header.index(name) < len(raw) else ""
            )
            for name in columns
        }
        errors: list[dict[str, str]] = []
        for name, value in list(data.items()):
            if common.looks_like_card_number(value):
                data[name] = ""  # never kept
                errors.append(_error(name, gettext("A card number cannot be typed here.")))
            elif is_dangerous(value):
                data[name] = "'" + value
                errors.append(_error(name, gettext("A formula is not allowed in a cell.")))
        amount = data["amount"].replace(".", "").replace(",", "")
        if not amount.isdigit() or not 1 <= int(amount) <= 1_000_000_000_000:
            errors.append(
                _error("amount", gettext("The amount must be a whole number of rupiah above zero."))
            )
        number = data["billing_number"]
        key = number if kind == "registration" else data.get("invoice_number", "")
        if kind == "registration":
            if data["customer_id"] not in customers:
                errors.append(_error("customer_id", gettext("No customer has this Customer ID.")))
            if not number or len(number) > 40 or number in known:
                errors.append(
                    _error("billing_number", gettext("This Billing Number is already used or invalid."))
                )
            if data["type"] and data["type"].lower() not in ("recurring", "reminder"):
                errors.append(_error("type", gettext("The type is Recurring or Reminder.")))
            if data["schedule_type"]:
                try:
                    schedules.parse(
                        data["schedule_type"].lower().replace(" ", "_"),
                        {
                            "day": data["day"],
                            "weekdays": data["weekdays"],
                            "months": data["months"],
                            "dates": data["dates"],
                        },
                        today=today,
                    )
                except ValidationFailed as exc:
                    errors.append(_error("schedule_type", exc.detail))
        else:
            billing = known.get(number)
            if billing is None or billing["status"] == "deleted":
                errors.append(_error("billing_number", gettext("No billing has this Billing Number.")))
            elif billing["card_status"] != "registered":
                errors.append(_error("billing_number", gettext("This billing has no registered card.")))
            invoice = data["invoice_number"]
            if not invoice or len(invoice) > 60 or invoice in used_invoices:
                errors.append(
                    _error("invoice_number", gettext("This Invoice Number is already used or invalid."))
                )
            try:
                day = date.fromisoformat(data["execute_date"])
                if day < today:
                    errors.append(_error("execute_date", gettext("The execute date is in the past.")))
            except ValueError:
                errors.append(_error("execute_date", gettext("Dates are written YYYY-MM-DD.")))
        if key:
            if key in seen:
                field = "billing_number" if kind == "registration" else "invoice_number"
                errors.append(
                    _error(field, gettext("Also on line %(line)s of this file.") % {"line": seen[key]})
                )
            else:
                seen[key] = index
        result.append(BatchRow(index, data, errors))
    return result


def _amount_of(row: BatchRow) -> int:
    text = row.data.get("amount", "").replace(".", "").replace(",", "")
    return int(text) if text.isdigit() else 0


async def upload(actor: Actor, kind: str, file_name: str, content: bytes) -> str:
    """Read and validate a file; keep it with its rows and their reasons. Returns the batch id."""
    _require_whole_business(actor)
    if kind not in KINDS:
        raise ValidationFailed(
            N_("The batch type is Registration or Batch Transaction."),
            code="invalid_batch_type",
            errors=[FieldError("/kind", N_("unknown batch type"), "invalid_batch_type")],
        )
    name = common.text(file_name or "upload.csv", "/file", max_length=200)
    rows = await validate(actor, kind, read_rows(content, name))
    batch_id = new_id("bat")
    invalid = sum(1 for r in rows if r.errors)
    async with transaction(), sql.connection() as conn:
        await conn.execute(
            "INSERT INTO billing_batch (business_id, id, kind, file_name, total_data, invalid_data, "
            "total_amount, "
            "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            actor.business_id,
            batch_id,
            kind,
            name,
            len(rows),
            invalid,
            sum(_amount_of(r) for r in rows),
            actor.user_id or actor.api_key_id,
            clock.now(),
        )
        await conn.copy_records_to_table(
            "billing_batch_row",
            columns=["business_id", "batch_id", "line", "data", "errors"],
            records=[
                (actor.business_id, batch_id, r.line, json.dumps(r.data), json.dumps(r.errors)) for r in rows
            ],
        )
        await common.audit(
            actor,
            "billing.batch_uploaded",
            f"Batch file {name} uploaded ({len(rows)} rows, {invalid} invalid)",
            {"batch_id": batch_id},
        )
    return batch_id


async def batch_row(actor: Actor, batch_id: str) -> asyncpg.Record:
    actor.require("billing")
    row = await sql.fetchrow(
        "SELECT * FROM billing_batch WHERE business_id = $1 AND id = $2",
        actor.business_id,
        str(batch_id)[:40],
    )
    if row is None:
        raise common.not_found("Batch", batch_id)
    return row


async def find_batch(actor: Actor, batch_id: str) -> None:
    await batch_row(actor, batch_id)


async def batch_rows(actor: Actor, batch_id: str) -> list[dict[str, Any]]:
    await batch_row(actor, batch_id)
    rows = await sql.fetch(
        "SELECT line, data, errors FROM billing_batch_row WHERE business_id = $1 AND batch_id = $2 "
        "ORDER BY line",
        actor.business_id,
        batch_id,
    )
    return [
        {
            "line": r["line"],
            "data": json.loads(r["data"]) if isinstance(r["data"], str) else r["data"],
            "errors": json.loads(r["errors"]) if isinstance(r["errors"], str) else r["errors"],
        }
        for r in rows
    ]


async def process(actor: Actor, batch_id: str) -> int:
    """Process a valid batch once: create its billings (Registration) or its single payments, charged
    by the billing run on their Execute Date (Batch Transaction). Returns the rows processed."""
    actor.require("billing", "manage")
    batch = await batch_row(actor, batch_id)
    if batch["invalid_data"]:
        raise Conflict(
            N_("Upload the file again without its invalid rows first."), code="batch_has_invalid_rows"
        )
    async with transaction():
        claimed = await sql.fetchval(
            "UPDATE billing_batch SET status = 'processed', processed_at = $3 "
            "WHERE business_id = $1 AND id = $2 AND status = 'validated' RETURNING id",
            actor.business_id,
            batch_id,
            clock.now(),
        )
    if claimed is None:
        raise Conflict(N_("This batch was already processed."), code="batch_processed")
    rows = await batch_rows(actor, batch_id)
    if batch["kind"] == "registration":
        for row in rows:
            data = row["data"]
            schedule = None
            if data.get("schedule_type"):
                schedule = {
                    "schedule_type": data["schedule_type"].lower().replace(" ", "_"),
                    "day": data.get("day"),
                    "weekdays": data.get("weekdays"),
                    "months": data.get("months"),
                    "dates": data.get("dates"),
                }
            try:
                await create_billing(
                    actor,
                    customer_id=data["customer_id"],
                    billing_number=data["billing_number"],
                    amount=data["amount"].replace(".", "").replace(",", ""),
                    description=data.get("description") or None,
                    type=(data.get("type") or "recurring").lower(),
                    schedule=schedule,
                )
            except NeracaError:
                continue  # changed since validation (a number taken meanwhile): that row only is skipped
        return len(rows)
    async with transaction():
        await sql.execute(
            "INSERT INTO billing_charge (business_id, id, billing_id, customer_id, kind, "
            "execute_date, billing_number, "
            "invoice_number, account_id, amount, currency, status, next_attempt_on, batch_id, "
            "created_at, updated_at) "
            "SELECT b.business_id, 'chg_' || substr(md5($2 || r.line::text), 1, 26), b.id, "
            "b.customer_id, 'single', "
            "(r.data->>'execute_date')::date, b.billing_number, r.data->>'invoice_number', b.account_id, "
            "replace(replace(r.data->>'amount', '.', ''), ',', '')::bigint, b.currency, 'pending', "
            "(r.data->>'execute_date')::date, $2, $3, $3 "
            "FROM billing_batch_row r JOIN billing b ON b.business_id = r.business_id "
            "AND b.billing_number = r.data->>'billing_number' AND b.status <> 'deleted' "
            "WHERE r.business_id = $1 AND r.batch_id = $2 ON CONFLICT DO NOTHING",
            actor.business_id,
            batch_id,
            clock.now(),
        )
        await common.audit(
            actor, "billing.batch_processed", f"Batch {batch['file_name']} processed", {"batch_id": batch_id}
        )
    return len(rows)


async def list_batches(
    actor: Actor, *, limit: int | None = None, after: str | None = None
) -> tuple[list[asyncpg.Record], str | None]:
    """Batch Report: uploads, latest first, with Total Data, Total Amount and Invalid Data."""
    actor.require("billing")
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = ""
    position = decode_cursor(after)
    if position is not None:
        args.append(str(position))
        where = f" AND id < ${len(args)}"
    args.append(size + 1)
    rows = await sql.fetch(
        "SELECT * FROM billing_batch WHERE business_id = $1"
        + where
        + f" ORDER BY id DESC LIMIT ${len(args)}",
        *args,
    )
    more = len(rows) > size
    rows = rows[:size]
    return list(rows), (encode_cursor(rows[-1]["id"]) if more and rows else None)


def template_csv(kind: str) -> str:
    """The template of a batch type: its header and one example row."""
    example = {
        "registration": [
            "CUST-001",
            "BIL-001",
            "150000",
            "recurring",
            "date",
            "5",
            "",
            "1,2,3,4,5,6,7,8,9,10,11,12",
            "",
            "Monthly plan",
        ],
        "transaction": ["BIL-001", "INV-0001", "150000", common.today().isoformat(), "One-time payment"],
    }[kind]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS[kind])
    writer.writerow(example)
    return out.getvalue()


def template_xlsx(kind: str) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    for index, line in enumerate(csv.reader(io.StringIO(template_csv(kind)))):
        for column, value in enumerate(line):
            sheet.write_string(index, column, value)
    book.close()
    return out.getvalue()


def batch_out(row: asyncpg.Record, rows: list[dict[str, Any]] | None = None) -> BatchOut:
    return BatchOut(
        id=row["id"],
        kind=row["kind"],
        file_name=row["file_name"],
        status=row["status"],
        total_data=row["total_data"],
        invalid_data=row["invalid_data"],
        total_amount=row["total_amount"],
        created_at=row["created_at"],
        processed_at=row["processed_at"],
        rows=[BatchRowOut(r["line"], r["data"], r["errors"]) for r in rows] if rows is not None else None,
    )


async def upload_base64(actor: Actor, kind: str, file_name: str, content: str) -> BatchOut:
    """The API's upload: the file arrives base64-encoded; answered with its rows and their reasons."""
    try:
        raw = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            N_("content_base64 is not base64."),
            code="invalid_file",
            errors=[FieldError("/content_base64", N_("not base64"), "invalid_file")],
        ) from None
    batch_id = await upload(actor, kind, file_name, raw)
    return await get_batch(actor, batch_id)


async def get_batch(actor: Actor, batch_id: str) -> BatchOut:
    """One uploaded file with its rows."""
    return batch_out(await batch_row(actor, batch_id), await batch_rows(actor, batch_id))


async def process_batch(actor: Actor, batch_id: str) -> BatchOut:
    await process(actor, batch_id)
    return batch_out(await batch_row(actor, batch_id))


async def batch_page(actor: Actor, *, limit: int | None = None, after: str | None = None) -> BatchPage:
    rows, cursor = await list_batches(actor, limit=limit, after=after)
    return BatchPage([batch_out(r) for r in rows], cursor is not None, cursor)
