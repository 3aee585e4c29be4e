"""Statements an accountant accepts: entries in date order even when history was booked out of order;
a roll-up shows a transfer between its own accounts once, marked internal, with external in/out totals;
counterparts in words; the file name carries the account's name and the period; quick periods."""

from __future__ import annotations

import re

import httpx

from portal.domains.reports import services
from tests.support.reports import DAY1, DAY2, api_business, at, book, portal_client, world_of


async def test_subtree_statement_in_date_order_with_internal_transfers_once(
    client: httpx.AsyncClient,
) -> None:
    biz = await api_business()
    a, b = biz.tree.accounts
    world = await world_of(biz.business_id)
    # Booked out of date order: the later day first (a lower seq), as imported history is.
    await book(biz.business_id, world, a, 70_000, at(DAY2, 9), description="later day")
    await book(biz.business_id, world, a, 50_000, at(DAY1, 9), description="earlier day")
    await book(biz.business_id, a, b, 20_000, at(DAY1, 10), description="inside the subtree")
    await book(biz.business_id, b, world, 5_000, at(DAY1, 11), description="out to the bank")

    await portal_client(client, biz.business_id)
    params = {
        "account_id": biz.tree.main,
        "scope": "subtree",
        "period": "custom",
        "start": DAY1.isoformat(),
        "end": DAY2.isoformat(),
    }
    page = await client.get("/reports/statement", params=params, headers={"HX-Request": "true"})
    assert page.status_code == 200, page.text[:300]
    html = page.text
    order = [m for m in ("earlier day", "inside the subtree", "out to the bank", "later day") if m in html]
    assert order == ["earlier day", "inside the subtree", "out to the bank", "later day"]
    assert sorted(order, key=html.index) == order  # date order on screen
    assert html.count("data-internal") == 1  # the internal transfer is one row, not two
    assert 'data-total="external_in"' in html and "IDR 120,000" in html
    assert "IDR 5,000" in html and "Bank transfer in" in html and "Bank transfer out" in html
    assert "world (IDR)" not in html

    r = await services.resolve(
        biz_actor := await _owner(biz.business_id),
        biz.tree.main,
        start=DAY1,
        end=DAY2,
        include_descendants=True,
    )
    assert biz_actor is not None
    totals = await services.subtree_totals(r)
    assert (totals.external_in, totals.external_out, totals.internal, totals.internal_count) == (
        120_000,
        5_000,
        20_000,
        1,
    )
    assert services.file_name(r, "csv") == f"Main-account_subtree_{DAY1}_{DAY2}.csv"
    # The CSV file lists the entries in date order too.
    csv_params = {**params, "format": "csv"}
    download = await client.get("/reports/statements/file", params=csv_params)
    assert download.status_code == 200
    text = download.content.decode("utf-8-sig")
    assert text.index("earlier day") < text.index("later day")
    assert re.search(r'filename="Main-account_subtree_', download.headers.get("content-disposition", ""))


async def test_presets_and_the_only_account_preselected(client: httpx.AsyncClient) -> None:
    biz = await api_business()
    await portal_client(client, biz.business_id)
    page = await client.get("/reports")
    for label in ("This month", "Last month", "Last week"):
        assert f"data-preset>{label}<" in page.text
    assert '(optional)</span></label>\n  <select class="select" id="f-format"' not in page.text


async def _owner(business_id: str):  # type: ignore[no-untyped-def]
    from portal.domains.identity import services as identity
    from portal.domains.identity.auth import user_actor
    from portal.lib import sql

    user_id = await sql.fetchval(
        "SELECT id FROM app_user WHERE business_id = $1 AND role = 'owner' LIMIT 1", business_id
    )
    user = await identity.user_by_id(user_id)
    business = await identity.get_business(business_id)
    return user_actor(user, business)


async def test_xlsx_and_pdf_files_name_kinds_in_the_readers_language(client: httpx.AsyncClient) -> None:
    import io
    import zipfile

    from portal.domains.reports.formats import render_statement_html
    from portal.domains.reports.services.snapshot import snapshot
    from portal.domains.reports.services.streaming import kind_labels
    from portal.lib import clock, sql

    biz = await api_business()
    a, _b = biz.tree.accounts
    world = await world_of(biz.business_id)
    await book(biz.business_id, world, a, 50_000, at(DAY1, 9), kind="topup", description="paid in")
    await sql.execute("UPDATE app_user SET language = 'id' WHERE business_id = $1", biz.business_id)
    await portal_client(client, biz.business_id)
    params = {"account_id": a, "period": "custom", "start": DAY1.isoformat(), "end": DAY2.isoformat()}
    download = await client.get("/reports/statements/file", params=params | {"format": "xlsx"})
    assert download.status_code == 200, download.text[:300]
    with zipfile.ZipFile(io.BytesIO(download.content)) as book_file:
        sheet = book_file.read("xl/worksheets/sheet1.xml").decode()
    assert ">Isi saldo<" in sheet and ">topup<" not in sheet

    assert kind_labels("id")("topup") == "Isi saldo" and kind_labels("en")("hold_void") == "Hold released"
    r = await services.resolve(await _owner(biz.business_id), a, start=DAY1, end=DAY2)
    async with snapshot(r, clock.now()) as snap:
        lines = [line async for batch in snap.batches() for line in batch]
        html = render_statement_html(snap.header, lines, locale="id", kind_label=kind_labels("id"))
    assert "<td>Isi saldo</td>" in html and "<td>topup</td>" not in html
    csv_file = await client.get("/reports/statements/file", params=params | {"format": "csv"})
    assert b",topup\r\n" in csv_file.content  # the CSV keeps its codes (one byte layout on both paths)
