"""The transfer, top-up and withdrawal forms: a review step shows the amount as read, formatted, and
books nothing; confirming books it once; "Change" brings the form back with what was entered."""

from __future__ import annotations

from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity.auth import user_actor
from portal.lib import sql
from tests.support.identity import csrf_from, make_business, signed_in_client


async def post(client: Any, url: str, data: dict[str, str], page_url: str) -> Any:
    token = csrf_from((await client.get(page_url)).text)
    return await client.post(url, data={**data, "_csrf_token": token})


async def test_transfer_review_shows_the_formatted_amount_and_books_nothing(client: Any, db: str) -> None:
    business, owner = await make_business()
    await signed_in_client(client, owner)
    main = await accounts.ensure_business_accounts(business.id)
    actor = user_actor(owner, business)
    a = await accounts.create_account(actor, name="Toko A", kind="partner", parent_id=main)
    b = await accounts.create_account(actor, name="Toko B", kind="partner", parent_id=main)
    fields = {"from_account_id": a.id, "to_account_id": b.id, "amount": "1,500", "reference": "RV-1"}

    review = await post(client, "/transfers", {**fields, "step": "review"}, "/transfers/new")
    assert review.status_code == 200, review.text[:500]
    assert "data-review-amount>IDR 1,500<" in review.text
    assert 'name="amount" value="1,500"' in review.text and "Toko B" in review.text
    assert await sql.fetchval("SELECT count(*) FROM transfer WHERE reference = 'RV-1'") == 0

    change = await post(client, "/transfers", {**fields, "step": "edit"}, "/transfers/new")
    assert change.status_code == 200 and 'value="RV-1"' in change.text
    assert await sql.fetchval("SELECT count(*) FROM transfer WHERE reference = 'RV-1'") == 0

    refused = await post(client, "/transfers", {**fields, "step": "review"}, "/transfers/new")
    assert refused.status_code == 200  # a review, not yet the refusal of insufficient funds
    booked = await post(client, "/transfers", fields, "/transfers/new")
    assert booked.status_code == 422 and "f-amount-error" in booked.text  # no money on Toko A


async def test_top_up_review_and_a_bad_amount_on_review(client: Any, db: str) -> None:
    business, owner = await make_business()
    await signed_in_client(client, owner)
    main = await accounts.ensure_business_accounts(business.id)
    page_url = f"/topups/new?account_id={main}"
    bad = await post(client, "/topups", {"account_id": main, "amount": "1.500", "step": "review"}, page_url)
    assert bad.status_code == 422 and "ambiguous" in bad.text
    review = await post(
        client,
        "/topups",
        {"account_id": main, "amount": "1,500", "reference": "RV-T", "step": "review"},
        page_url,
    )
    assert review.status_code == 200 and "IDR 1,500" in review.text
    assert await sql.fetchval("SELECT count(*) FROM topup WHERE reference = 'RV-T'") == 0
    made = await post(
        client, "/topups", {"account_id": main, "amount": "1,500", "reference": "RV-T"}, page_url
    )
    assert made.status_code == 303
    assert await sql.fetchval("SELECT amount FROM topup WHERE reference = 'RV-T'") == 1500


async def test_form_text_with_control_characters_re_renders_the_form(client: Any, db: str) -> None:
    business, owner = await make_business()
    await signed_in_client(client, owner)
    main = await accounts.ensure_business_accounts(business.id)
    response = await post(
        client,
        "/transfers",
        {"from_account_id": main, "to_account_id": main, "amount": "1", "reference": "R\x00X"},
        "/transfers/new",
    )
    assert response.status_code == 422 and "f-reference-error" in response.text
    assert "\x00" not in response.text


async def test_indonesian_amounts_as_indonesians_write_them(client: Any, db: str) -> None:
    """In Bahasa Indonesia `150.000,00` is Rp150.000 (not 15,000,000) and `1,500` is refused (1,5?)."""
    business, owner = await make_business()
    await signed_in_client(client, owner)
    main = await accounts.ensure_business_accounts(business.id)
    page_url = f"/topups/new?account_id={main}"
    switched = await post(client, "/language", {"language": "id", "next": "/"}, page_url)
    assert switched.status_code == 303
    fields = {"account_id": main, "reference": "RV-ID"}
    review = await post(client, "/topups", {**fields, "amount": "150.000,00", "step": "review"}, page_url)
    assert review.status_code == 200 and "Rp150.000<" in review.text.replace("\xa0", "")
    refused = await post(client, "/topups", {**fields, "amount": "1,500"}, page_url)
    assert refused.status_code == 422 and "Rp1.500" in refused.text.replace("\xa0", "")
    made = await post(client, "/topups", {**fields, "amount": "Rp150.000"}, page_url)
    assert made.status_code == 303
    assert await sql.fetchval("SELECT amount FROM topup WHERE reference = 'RV-ID'") == 150_000
