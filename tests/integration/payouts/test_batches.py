"""Batch payouts: a file's rows validated with the reason on the row and column, fixed and deleted,
submitted (every row held, awaiting approval), approved by another user with a code or rejected (holds
voided); files refused whole (formulas, wrong columns, 10,001 rows, non-UTF-8, an XLSX bomb) write
nothing. The ledger's invariants hold after each."""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import Any

import httpx
import pytest

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.payouts import batches
from portal.lib import frames, sql
from portal.lib.errors import NeracaError, ValidationFailed
from tests.support.database import with_one_connection_free
from tests.support.identity import code_for, enrol, make_business
from tests.support.ledger import fund
from tests.support.payouts import assert_ledger_sound, balances, names_checked, rail_mode

HEADER = "reference,amount,code,account_number,holder_name,description,email\n"


async def world(balance: int = 100_000_000) -> tuple[Any, Any, str]:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    await fund(business.id, main, balance)
    return business, actor, main


async def checker_of(actor: Any) -> tuple[Any, str]:
    user = await identity.create_user(
        actor,
        username=f"chk{actor.business_id[-8:].lower()}",
        full_name="Citra Checker",
        email=f"chk{actor.business_id[-8:].lower()}@example.com",
        role="admin",
    )
    secret = await enrol(user.id)
    business = await identity.get_business(actor.business_id)
    return user_actor(await identity.user_by_id(user.id), business), secret


async def test_rows_are_validated_fixed_submitted_and_approved(db: str) -> None:
    _business, actor, main = await world()
    text = HEADER + (
        "B-1,150000,014,8800112233,Budi Santoso,Komisi,budi@example.com\n"
        "B-2,50000,OVO,081234567890,Agus Pratama,,\n"
        "B-1,1000,014,8800112233,Budi,,\n"
        "B-4,abc,999,12,,,not-an-email\n"
        "B-5,2000000000000,014,8800112233,Budi,,\n"
    )
    batch_id = await batches.upload_batch(actor, "november.csv", text.encode())
    rows = {r["row_no"]: r for r in await batches.batch_rows(actor, batch_id)}
    assert rows[2]["rail"] == "bifast" and rows[3]["errors"] == []
    assert (
        [e["column"] for e in rows[2]["errors"]] == [e["column"] for e in rows[4]["errors"]] == ["reference"]
    )
    assert {e["column"] for e in rows[5]["errors"]} == {"amount", "code", "holder_name", "email"}
    assert [e["column"] for e in rows[6]["errors"]] == ["amount"]  # above every bank rail's limit
    summary = await batches.get_batch(actor, batch_id)
    assert (summary.rows, summary.invalid) == (5, 4)
    with pytest.raises(ValidationFailed) as early:
        await batches.submit_batch(actor, batch_id)
    assert early.value.code == "batch_has_invalid_rows"
    assert await batches.fix_row(actor, batch_id, 4, {"reference": "B-3"}) == []
    assert (await batches.batch_rows(actor, batch_id))[0]["errors"] == []  # row 2 is no longer a duplicate
    await batches.delete_row(actor, batch_id, 5)
    assert await batches.fix_row(actor, batch_id, 6, {"amount": "2000000"}) == []
    submitted = await batches.submit_batch(actor, batch_id)
    assert submitted.status == "submitted" and submitted.progress == {"awaiting_approval": 4}
    total = 150_000 + 50_000 + 1_000 + 2_000_000
    assert submitted.total_amount == total
    assert (await balances(actor, main))[1] == 100_000_000 - total - submitted.total_fee
    with pytest.raises(ValidationFailed) as own:
        await batches.approve_batch(actor, batch_id, "000000")
    assert own.value.code == "approver_is_maker"
    checker, secret = await checker_of(actor)
    # No worker has asked the bank yet: every row still being checked holds the approval back.
    with pytest.raises(ValidationFailed) as unchecked:
        await batches.approve_batch(checker, batch_id, code_for(secret))
    assert unchecked.value.code == "batch_names_unchecked"
    assert [e.pointer for e in unchecked.value.errors] == [f"/rows/{n}/holder_name" for n in (2, 3, 4, 6)]
    await names_checked(actor.business_id, batch_id, accept_as=checker)
    approved = await batches.approve_batch(checker, batch_id, code_for(secret))
    assert approved.status == "approved" and approved.progress == {"scheduled": 4}
    name, csv_text = await batches.export_batch(actor, batch_id)
    assert name == "november-results.csv" and csv_text.count("scheduled") == 4
    await assert_ledger_sound()


async def test_a_rejected_batch_releases_every_hold(db: str) -> None:
    _business, actor, main = await world()
    text = HEADER + "R-1,150000,014,8800112233,Budi Santoso,,\nR-2,250000,002,034101000123567,Dewi,,\n"
    batch_id = await batches.upload_batch(actor, "r.csv", text.encode())
    await batches.submit_batch(actor, batch_id)
    checker, _secret = await checker_of(actor)
    rejected = await batches.reject_batch(checker, batch_id, "not this month")
    assert rejected.status == "rejected" and rejected.progress == {"rejected": 2}
    assert await balances(actor, main) == (100_000_000, 100_000_000)
    await assert_ledger_sound()


def xlsx(cells: str) -> bytes:
    """A minimal workbook whose first sheet's data is `cells` (sheetData XML)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "xl/worksheets/sheet1.xml",
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + cells
            + "</sheetData></worksheet>",
        )
    return out.getvalue()


def row(number: int, values: list[str]) -> str:
    cols = "ABCDEFG"
    return (
        f'<row r="{number}">'
        + "".join(
            f'<c r="{cols[i]}{number}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values)
        )
        + "</row>"
    )


HEAD = ["reference", "amount", "code", "account_number", "holder_name", "description", "email"]


@pytest.mark.parametrize(
    ("filename", "data", "code", "pointer"),
    [
        (
            "f.csv",
            (HEADER + "F-1,=1+1,014,8800112233,Budi,,\n").encode(),
            "formula_in_cell",
            "/file/row/2/amount",
        ),
        ("w.csv", b"reference,amount,bank\nW-1,1000,014\n", "wrong_columns", "/file/row/1"),
        (
            "big.csv",
            (HEADER + "".join(f"M-{i},1000,014,8800112233,Budi,,\n" for i in range(10_001))).encode(),
            "too_many_rows",
            "/file",
        ),
        (
            "latin.csv",
            (HEADER + "L-1,1000,014,8800112233,Jos\xe9,,\n").encode("latin-1"),
            "not_utf8",
            "/file",
        ),
        (
            "x.xlsx",
            xlsx(row(1, HEAD) + '<row r="2"><c r="A2"><f>SUM(1,1)</f><v>2</v></c></row>'),
            "formula_in_cell",
            "/file/row/2",
        ),
        ("bomb.xlsx", None, "xlsx_bomb", "/file"),
    ],
)
async def test_files_refused_whole_write_nothing(
    db: str, filename: str, data: bytes | None, code: str, pointer: str
) -> None:
    business, actor, _main = await world()
    if data is None:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (80 * 1024 * 1024) + b"</a>")
        data = out.getvalue()
    with pytest.raises(ValidationFailed) as refused:
        await batches.upload_batch(actor, filename, data)
    assert refused.value.code == code
    assert refused.value.errors[0].pointer == pointer
    assert await sql.fetchval("SELECT count(*) FROM payout_batch WHERE business_id = $1", business.id) == 0


async def test_an_xlsx_file_is_read_like_a_csv(db: str) -> None:
    _business, actor, _main = await world()
    data = xlsx(row(1, HEAD) + row(2, ["X-1", "150000", "014", "8800112233", "Budi Santoso", "", ""]))
    batch_id = await batches.upload_batch(actor, "x.xlsx", data)
    rows = await batches.batch_rows(actor, batch_id)
    assert [(r["reference"], r["amount"], r["errors"]) for r in rows] == [("X-1", "150000", [])]


async def test_a_file_polars_reads_and_the_same_file_quoted_are_staged_alike(db: str) -> None:
    """A plain CSV is read by polars; with a quoted cell the same file is read by the csv module. Both
    stage the same rows: numbers (a blank row keeps its place), kept cells, rails, fees and errors."""
    _business, actor, _main = await world()
    plain = HEADER + (
        "P-1,150000,014,8800-112 233,Budi  Santoso,Komisi,budi@example.com\n"
        "P-2,abc,ovo,62812 3456 7890,Agus,,not-an-email\n"
        "\n"
        "P-1,1000,014,12,Budi,,\n"
        "P-4,50000,DANA,081234567890\n"
    )
    quoted = plain.replace("Budi  Santoso", '"Budi  Santoso"')

    async def staged(text: str) -> list[tuple[Any, ...]]:
        batch_id = await batches.upload_batch(actor, "f.csv", text.encode())
        rows = await batches.batch_rows(actor, batch_id)
        kept = ("amount", "code", "account_number", "holder_name", "rail", "fee")
        return [
            (
                r["row_no"],
                r["reference"][2:],
                *(r[k] for k in kept),
                [(e["column"], e["message"]) for e in r["errors"]],
            )
            for r in rows
        ]

    first = await staged(plain)
    assert first == await staged(quoted.replace("P-", "Q-"))
    # The same cells with whitespace at their edges (a file scanned as having cells to trim), comma- and
    # semicolon-separated (the scan is for commas: a semicolon file's cells are always trimmed).
    padded = plain.replace(",", " ,\t").replace("\n", " \n")
    assert first == await staged(padded.replace("P-", "S-"))
    assert first == await staged(padded.replace(",", ";").replace("P-", "T-"))
    assert [r[0] for r in first] == [2, 3, 5, 6]
    assert first[0][5:8] == ("Budi Santoso", "bifast", 2_500)
    assert first[3][8] == [("holder_name", "required, at most 100 characters")]
    # A cell with a line break, quotes and a comma is stored as typed (the rows go by COPY of a CSV).
    text = HEADER + 'N-1,1000,014,8800112233,Budi,"one\r\ntwo ""2"", end",\n'
    batch_id = await batches.upload_batch(actor, "n.csv", text.encode())
    (row,) = await batches.batch_rows(actor, batch_id)
    assert (row["description"], row["email"], row["errors"]) == ('one\r\ntwo "2", end', "", [])


async def test_the_record_keeps_each_column_as_one_text_until_a_change_sets_it(db: str) -> None:
    """An upload writes the cells and the rules' results as one text per column (no array) and nothing
    for the columns that start alike; a change writes the columns it sets as arrays and clears their
    texts; a record kept wholly as arrays (as before) reads the same rows. A one-row file has no
    separator: each column is its one value."""
    _business, actor, _main = await world()
    text = HEADER + (
        "K-1,150000,014,8800112233,Budi Santoso,Komisi,budi@example.com\n"
        "K-2,50000,OVO,081234567890,Agus Pratama,,\n"
        "K-1,abc,014,8800112233,Budi,,\n"
    )
    batch_id = await batches.upload_batch(actor, "k.csv", text.encode())

    async def record() -> Any:
        return await sql.fetchrow(
            "SELECT * FROM payout_batch_file WHERE business_id = $1 AND batch_id = $2",
            actor.business_id,
            batch_id,
        )

    kept = await record()
    assert kept["lines"] == 3 and kept["separator"] and kept["results_separator"]
    assert all(kept[c] is None for c in ("row_no", "reference", "rail", "errors", "deleted", "name_status"))
    assert kept["packed_reference"] == kept["separator"].join(["K-1", "K-2", "K-1"])
    assert kept["packed_code"] == kept["separator"].join(["014", "OVO", "014"])
    before = await batches.batch_rows(actor, batch_id)
    assert [(r["row_no"], r["reference"], r["name_status"], r["payout_id"]) for r in before] == [
        (2, "K-1", "pending", None),
        (3, "K-2", "pending", None),
        (4, "K-1", "pending", None),
    ]
    assert [r["fee"] for r in before] == [2_500, before[1]["fee"], None]
    assert [[e["column"] for e in r["errors"]] for r in before] == [
        ["reference"],
        [],
        ["reference", "amount"],
    ]

    assert await batches.fix_row(actor, batch_id, 4, {"reference": "K-3", "amount": "1000"}) == []
    changed = await record()
    assert changed["reference"] == ["K-1", "K-2", "K-3"] and changed["packed_reference"] is None
    assert changed["errors"] is not None and changed["packed_errors"] is None
    assert changed["row_no"] is None and changed["packed_row_no"] is not None  # not set: still one text
    after = await batches.batch_rows(actor, batch_id)
    assert [(r["reference"], r["amount"], r["errors"]) for r in after] == [
        ("K-1", "150000", []),
        ("K-2", "50000", []),
        ("K-3", "1000", []),
    ]

    # Every column as an array, as records kept before were: the same rows.
    columns = [
        "row_no", "reference", "amount", "code", "account_number", "holder_name", "description", "email",
        "rail", "fee", "errors", "deleted", "payout_id", "name_status", "bank_holder_name",
        "name_accepted_by", "name_accepted_by_name", "name_accepted_at",
    ]  # fmt: skip
    packed = [c for c in columns if f"packed_{c}" in changed]
    await sql.execute(
        "UPDATE payout_batch_file f SET "
        + ", ".join(
            [f"{c} = {batches._CURRENT[c]}" for c in columns] + [f"packed_{c} = NULL" for c in packed]
        )
        + ", separator = NULL, results_separator = NULL WHERE business_id = $1 AND batch_id = $2",
        actor.business_id,
        batch_id,
    )
    arrays = await record()
    assert all(arrays[f"packed_{c}"] is None for c in packed) and arrays["reference"] == ["K-1", "K-2", "K-3"]
    assert await batches.batch_rows(actor, batch_id) == after

    one = await batches.upload_batch(actor, "one.csv", (HEADER + "K-9,2000,014,8800112233,Budi,,\n").encode())
    single = await sql.fetchrow(
        "SELECT separator, packed_reference FROM payout_batch_file WHERE business_id = $1 AND batch_id = $2",
        actor.business_id,
        one,
    )
    assert tuple(single) == (None, "K-9")
    assert [(r["row_no"], r["reference"], r["errors"]) for r in await batches.batch_rows(actor, one)] == [
        (2, "K-9", [])
    ]


async def test_a_file_holding_every_separator_character_is_refused_whole(db: str) -> None:
    """A file whose cells hold every character its record could be joined with (the usual separators
    and every one from U+E000 up) is refused with a specific error, nothing written (the refusal comes
    inside the upload's transaction, after the batch's row: it is rolled back)."""
    _business, actor, _main = await world()
    every = "".join(chr(c) for c in range(0xE000, 0x110000))
    text = (
        HEADER
        + f"E-1,1000,014,8800112233,Budi,x{frames._SEPARATORS}x,\nE-2,1000,014,8800112233,Budi,{every},\n"
    )
    with pytest.raises(ValidationFailed) as refused:
        await batches.upload_batch(actor, "every.csv", text.encode())
    assert refused.value.code == "unreadable_file"
    assert [e.pointer for e in refused.value.errors] == ["/file"]
    assert await sql.fetchval("SELECT count(*) FROM payout_batch") == 0
    assert await sql.fetchval("SELECT count(*) FROM payout_batch_file") == 0


async def test_an_upload_with_no_spare_connection_does_its_lookups_on_its_own(db: str) -> None:
    """With every other pooled connection held, the upload looks up the references and codes on its own
    connection after writing the cells (waiting for a second one could wait forever once every
    connection is held by such uploads): the same rows, rails and errors as with a spare one."""
    _business, actor, _main = await world()
    text = HEADER + "H-1,150000,014,8800112233,Budi Santoso,,\nH-1,1000,XYZ,0812,Agus,,\n"

    async def staged(prefix: str) -> list[tuple[Any, ...]]:
        batch_id = await asyncio.wait_for(
            batches.upload_batch(actor, "h.csv", text.replace("H-", prefix).encode()), 30
        )
        rows = await batches.batch_rows(actor, batch_id)
        return [(r["row_no"], r["rail"], r["fee"], [e["column"] for e in r["errors"]]) for r in rows]

    alone = await with_one_connection_free(staged("A-"))
    assert alone == await staged("B-")
    assert alone == [(2, "bifast", 2_500, ["reference"]), (3, None, None, ["reference", "code"])]


async def test_every_rule_is_checked_in_sql_like_the_single_row_rules(db: str) -> None:
    """The set-based check over the staged rows: trimming (also non-breaking spaces), blank rows keeping
    the numbering, short rows padded, wallet numbers normalised, the e-mail and number rules, each rail's
    limits, duplicates and references used before; a fix is checked by the same rules."""
    _business, actor, _main = await world()
    first = await batches.upload_batch(
        actor, "first.csv", (HEADER + "E-USED,150000,014,8800112233,Budi,,\n").encode()
    )
    await batches.submit_batch(actor, first)
    long_local = "a" * 65
    text = HEADER + (
        "\u00a0S-1 , 1.500.000 ,014, 8800-112 233 ,  Budi   Santoso ,Komisi, budi@example.co.id \n"
        "\n"
        "S-2,50000,ovo,62812 3456 7890,Agus,,\n"
        "S-3,5000,OVO,081234567890,Agus,,\n"
        "S-4,15000000,LINKAJA,081234567890,Agus,,\n"
        "S-5,1000,014,12345,Budi,,\n"
        f"S-6,1000,014,8800112233,Budi,{'x' * 141},{long_local}@example.com\n"
        "S-7,1000,014,8800112233,Budi,,a@-x.com\n"
        "S-8,1000,014,8800112233,Budi,,a@x..com\n"
        "S-9,1000,014,8800112233,Budi,,a@localhost\n"
        "S-10,10000,DANA,0712345678,Budi,,a@x-.y\n"
        "S-11,1000,014,8800112233\n"
        "E-USED,1000,014,8800112233,Budi,,\n"
        "S-13,1000,014,8800112233,Budi,,a@b.c-d\n"
    )
    batch_id = await batches.upload_batch(actor, "rules.csv", text.encode())
    rows = {r["row_no"]: r for r in await batches.batch_rows(actor, batch_id)}
    assert sorted(rows) == [2, *range(4, 16)]  # the blank row 3 is left out, the numbers stay
    row = rows[2]
    assert (row["reference"], row["amount"], row["account_number"], row["holder_name"], row["email"]) == (
        "S-1",
        "1.500.000",
        "8800-112 233",
        "Budi Santoso",
        "budi@example.co.id",
    )
    assert (row["rail"], row["fee"], row["errors"]) == ("bifast", 2_500, [])
    assert (rows[4]["code"], rows[4]["account_number"], rows[4]["rail"], rows[4]["errors"]) == (
        "OVO",
        "081234567890",
        "ewallet_ovo",
        [],
    )

    def reasons(number: int) -> list[tuple[str, str]]:
        return [(e["column"], e["message"]) for e in rows[number]["errors"]]

    assert reasons(5) == [("amount", "below the rail's minimum")]
    assert reasons(6) == [("amount", "above every rail's limit")]  # LinkAja carries at most Rp10,000,000
    assert reasons(7) == [("account_number", "6 to 20 digits")]
    assert reasons(8) == [("description", "at most 140 characters"), ("email", "not an e-mail address")]
    assert reasons(9) == reasons(10) == reasons(11) == [("email", "not an e-mail address")]
    assert reasons(12) == [
        ("account_number", "not an Indonesian mobile number"),
        ("email", "not an e-mail address"),
    ]
    assert reasons(13) == [("holder_name", "required, at most 100 characters")]
    assert reasons(14) == [("reference", "already used by an earlier payout or transfer")]
    assert reasons(15) == []  # a label after the first may end with a dash
    assert await batches.fix_row(actor, batch_id, 12, {"account_number": "62 812-3456-7890"}) == [
        {"column": "email", "message": "not an e-mail address", "params": {}}
    ]
    fixed = {r["row_no"]: r for r in await batches.batch_rows(actor, batch_id)}
    assert (fixed[12]["account_number"], fixed[12]["rail"]) == ("081234567890", "ewallet_dana")
    with pytest.raises(ValidationFailed) as formula:
        await batches.upload_batch(
            actor, "f.csv", (HEADER + "F-1,1000,014,8800112233,Budi,, \u00a0@SUM\n").encode()
        )
    assert formula.value.errors[0].pointer == "/file/row/2/email"


async def test_a_batch_the_account_cannot_cover_holds_nothing(db: str) -> None:
    """Submission holds every row through one engine call: when the balance does not cover them all, or
    a reference was taken since the upload, the whole batch is refused and nothing is held or claimed."""
    business, actor, main = await world(balance=1_000_000)
    text = HEADER + "C-1,600000,014,8800112233,Budi Santoso,,\nC-2,600000,014,8800112234,Dewi,,\n"
    batch_id = await batches.upload_batch(actor, "c.csv", text.encode())
    with pytest.raises(NeracaError) as refused:
        await batches.submit_batch(actor, batch_id)
    assert refused.value.code == "insufficient_funds"
    assert await balances(actor, main) == (1_000_000, 1_000_000)
    assert (await batches.get_batch(actor, batch_id)).status == "draft"
    claimed = "SELECT count(*) FROM ledger_reference WHERE business_id = $1 AND reference LIKE 'C-%'"
    assert await sql.fetchval(claimed, business.id) == 0
    await batches.fix_row(actor, batch_id, 3, {"amount": "300000"})
    taken = await batches.upload_batch(actor, "t.csv", (HEADER + "C-2,1000,014,8800112233,Budi,,\n").encode())
    await batches.submit_batch(actor, taken)
    with pytest.raises(NeracaError) as duplicate:
        await batches.submit_batch(actor, batch_id)
    assert duplicate.value.code == "duplicate_reference"
    assert (await balances(actor, main))[1] == 1_000_000 - 1_000 - 2_500
    await batches.fix_row(actor, batch_id, 3, {"reference": "C-3"})
    submitted = await batches.submit_batch(actor, batch_id)
    assert submitted.progress == {"awaiting_approval": 2}
    assert (await balances(actor, main))[1] == 1_000_000 - 1_000 - 900_000 - 3 * 2_500
    await assert_ledger_sound()


async def test_provider_answers_arriving_together_are_booked_once_in_one_group(db: str) -> None:
    """`apply_provider_statuses`: a group of answers (a success, a failure, repeats, a still-submitted one
    and an unknown reference) books each payout once — holds posted or voided through one engine call,
    the events, notifications and activity entries written set-based; the same group again books nothing."""
    from portal.domains.payouts import lifecycle
    from portal.domains.payouts.lifecycle import ProviderAnswer

    business, actor, main = await world()
    text = (
        HEADER
        + "G-1,100000,014,8800112233,Budi,,\nG-2,200000,014,8800112234,Dewi,,\n"
        + "G-3,300000,OVO,081234567890,Agus,,\n"
    )
    batch_id = await batches.upload_batch(actor, "g.csv", text.encode())
    await batches.submit_batch(actor, batch_id)
    checker, secret = await checker_of(actor)
    await names_checked(business.id, batch_id, accept_as=checker)
    await batches.approve_batch(checker, batch_id, code_for(secret))
    ids = {
        r["reference"]: r["id"]
        for r in await sql.fetch("SELECT reference, id FROM payout WHERE business_id = $1", business.id)
    }
    # As `submit_many` leaves them before the provider answers.
    await sql.execute("UPDATE payout SET status = 'submitted' WHERE business_id = $1", business.id)
    group = [
        ProviderAnswer(ids["G-1"], "succeeded", "pp-1", "BANKREF1"),
        ProviderAnswer(ids["G-2"], "failed", "pp-2", failure_code="account_closed"),
        ProviderAnswer(ids["G-1"], "succeeded", "pp-1", "BANKREF1"),
        ProviderAnswer(ids["G-3"], "submitted", "pp-3"),
        ProviderAnswer("po_unknown", "succeeded"),
    ]
    outcomes = await lifecycle.apply_provider_statuses(business.id, group)
    assert outcomes == {
        ids["G-1"]: "succeeded",
        ids["G-2"]: "failed",
        ids["G-3"]: "submitted",
        "po_unknown": "unknown_reference",
    }
    paid = 100_000 + 2_500
    held = 300_000 + 1_000
    assert await balances(actor, main) == (100_000_000 - paid, 100_000_000 - paid - held)
    rows = {
        r["id"]: r
        for r in await sql.fetch(
            "SELECT id, status, bank_reference, verification_code, failure_code, provider_payout_id "
            "FROM payout WHERE business_id = $1",
            business.id,
        )
    }
    assert rows[ids["G-1"]]["bank_reference"] == "BANKREF1" and rows[ids["G-1"]]["verification_code"]
    assert (rows[ids["G-2"]]["status"], rows[ids["G-2"]]["failure_code"]) == ("failed", "account_closed")
    assert (rows[ids["G-3"]]["status"], rows[ids["G-3"]]["provider_payout_id"]) == ("submitted", "pp-3")

    async def counts() -> tuple[int, int, int]:
        events = await sql.fetchval(
            "SELECT count(*) FROM event WHERE business_id = $1 "
            "AND type IN ('payout.succeeded', 'payout.failed')",
            business.id,
        )
        notes = await sql.fetchval(
            "SELECT count(*) FROM notification WHERE business_id = $1 AND kind LIKE 'payout.%'", business.id
        )
        entries = await sql.fetchval(
            "SELECT count(*) FROM activity WHERE business_id = $1 AND action IN ('payout.succeeded', "
            "'payout.failed')",
            business.id,
        )
        return int(events), int(notes), int(entries)

    assert await counts() == (2, 2, 2)
    again = await lifecycle.apply_provider_statuses(business.id, group)
    assert again[ids["G-1"]] == again[ids["G-2"]] == "already"
    assert await counts() == (2, 2, 2)
    assert await balances(actor, main) == (100_000_000 - paid, 100_000_000 - paid - held)
    await assert_ledger_sound()


async def test_a_row_the_bank_cannot_be_asked_about_blocks_until_checked_again_or_accepted(db: str) -> None:
    """The inquiry job asks again later for rows the provider could not answer; its last run marks them
    unavailable, which holds the approval back like a differing name until an approver accepts the
    typed name or the maker checks again (both in the activity log)."""
    business, actor, _main = await world()
    text = HEADER + "U-1,100000,014,8800112233,Budi Santoso,,\nU-2,100000,OVO,081234567890,Agus Pratama,,\n"
    batch_id = await batches.upload_batch(actor, "u.csv", text.encode())
    await batches.submit_batch(actor, batch_id)
    checker, secret = await checker_of(actor)
    retries = (
        "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'payouts.inquire_batch' "
        "AND convert_from(payload, 'UTF8')::jsonb @> jsonb_build_object('batch_id', $1::text, 'attempt', 2)"
    )
    await rail_mode("inquiry", "offline")
    try:
        assert await batches.run_name_inquiry_job(business.id, batch_id) == batches.NameCheck(0, 2, 0)
        assert await sql.fetchval(retries, batch_id) == 1  # asked again by a later run
        last = await batches.run_name_inquiry_job(business.id, batch_id, batches.INQUIRY_ATTEMPTS)
        assert last == batches.NameCheck(0, 0, 2)
    finally:
        await rail_mode("inquiry", "normal")
    rows = {r["row_no"]: r["name_status"] for r in await batches.batch_rows(actor, batch_id)}
    assert rows == {2: "unavailable", 3: "unavailable"}
    with pytest.raises(ValidationFailed) as blocked:
        await batches.approve_batch(checker, batch_id, code_for(secret))
    assert blocked.value.code == "batch_names_unaccepted"
    assert [e.pointer for e in blocked.value.errors] == ["/rows/2/holder_name", "/rows/3/holder_name"]
    await batches.accept_name(checker, batch_id, 2)
    accepted = await sql.fetchval(
        "SELECT summary FROM activity WHERE business_id = $1 AND action = 'payout_batch.name_accepted'",
        business.id,
    )
    assert "could not be asked" in accepted and "Budi Santoso" in accepted
    assert await batches.check_names_again(actor, batch_id) == 1  # the accepted row stays accepted
    with pytest.raises(ValidationFailed) as unchecked:
        await batches.approve_batch(checker, batch_id, code_for(secret))
    assert unchecked.value.code == "batch_names_unchecked"
    assert [e.pointer for e in unchecked.value.errors] == ["/rows/3/holder_name"]
    assert await names_checked(business.id, batch_id) == {2: "unavailable", 3: "matched"}
    with pytest.raises(NeracaError) as nothing_left:
        await batches.check_names_again(actor, batch_id)
    assert nothing_left.value.code == "no_names_to_check"
    rechecked = await sql.fetchval(
        "SELECT count(*) FROM activity WHERE business_id = $1 AND action = 'payout_batch.names_rechecked'",
        business.id,
    )
    assert rechecked == 1
    approved = await batches.approve_batch(checker, batch_id, code_for(secret))
    assert approved.status == "approved" and approved.progress == {"scheduled": 2}
    await assert_ledger_sound()


async def test_a_bulk_call_accepted_at_the_provider_but_never_booked_is_resumed_without_a_second_payout(
    db: str,
) -> None:
    """Due payouts go to the provider in one bulk call (`gateway.create_payouts`). A crash after the
    provider accepted them and before their booking leaves them submitted: another submission skips
    them, the same call again answers the same provider payouts, and the status query books each once."""
    import asyncio

    from portal.domains.payouts import lifecycle
    from portal.domains.provider import gateway
    from portal.settings import get_settings

    business, actor, main = await world()
    text = HEADER + "K-1,100000,014,8800112233,Budi,,\nK-2,200000,OVO,081234567890,Agus Pratama,,\n"
    batch_id = await batches.upload_batch(actor, "k.csv", text.encode())
    await batches.submit_batch(actor, batch_id)
    checker, secret = await checker_of(actor)
    await names_checked(business.id, batch_id, accept_as=checker)
    await batches.approve_batch(checker, batch_id, code_for(secret))
    # What `submit_many` does before its crash: every payout marked submitted, the bulk call answered.
    rows = await sql.fetch(
        "UPDATE payout SET status = 'submitted', submitted_at = now() WHERE business_id = $1 "
        f"AND batch_id = $2 RETURNING {lifecycle.PAYOUT_COLUMNS}",
        business.id,
        batch_id,
    )
    requests = [lifecycle._request(row) for row in sorted(rows, key=lambda r: r["id"])]
    answered = await gateway.provider().create_payouts(business.id, requests)
    first = [p for p in answered if isinstance(p, gateway.Payout) and p.status == "submitted"]
    assert len(first) == 2
    ids = [r.reference for r in requests]
    assert await lifecycle.submit_many(business.id, ids) == dict.fromkeys(ids, "skipped")
    again = await gateway.provider().create_payouts(business.id, requests)
    assert [p.payout_id for p in again if isinstance(p, gateway.Payout)] == [p.payout_id for p in first]
    # The rails complete on the merchant's clock; the sweep's status query books what the bank did.
    async with httpx.AsyncClient(timeout=10) as http:
        await http.post(
            f"{get_settings().provider.url}/control/api/clock/{business.id}/advance", json={"seconds": 60}
        )
    waiting = set(ids)
    for _ in range(100):
        for payout_id in sorted(waiting):
            if await lifecycle.query_payout(business.id, payout_id) == "succeeded":
                waiting.discard(payout_id)
        if not waiting:
            break
        await asyncio.sleep(0.2)
    assert not waiting
    provider_ids = await sql.fetch(
        "SELECT provider_payout_id FROM payout WHERE business_id = $1 AND batch_id = $2 ORDER BY id",
        business.id,
        batch_id,
    )
    assert [r["provider_payout_id"] for r in provider_ids] == [p.payout_id for p in first]
    for payout_id in ids:  # the provider holds one payout per reference
        found = await gateway.provider().find_payout(business.id, payout_id)
        assert found is not None and found.payout_id in {p.payout_id for p in first}
    paid = 100_000 + 200_000 + 2_500 + 1_000
    assert await balances(actor, main) == (100_000_000 - paid, 100_000_000 - paid)
    await assert_ledger_sound()
