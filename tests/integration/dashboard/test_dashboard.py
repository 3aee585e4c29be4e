"""The dashboard at `/`: its figures are the ledger's own balances for the viewer's scope (owner, division
manager and partner each see their subtree; a sibling subtree never shows), the weekly/monthly toggle,
empty states, htmx fragments and the login redirect."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from portal.domains.accounts import services as accounts
from portal.domains.dashboard import services as dashboard
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.ledger import engine
from portal.domains.ledger import services as ledger
from portal.domains.ledger.engine import Leg, Operation
from portal.lib import clock
from portal.lib.actor import Actor
from tests.support.identity import enrol, make_business, signed_in_client

SIBLING_AMOUNT = 777_777  # only ever in division B: must never show to division A's people
OLD_TOPUP = 5_432_100  # booked 20 days ago: in the monthly window, not the weekly one


@pytest.fixture
async def new_client(app: Any, db: str) -> AsyncIterator[Any]:
    """A factory of independent clients (one signed-in user each)."""
    clients: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()


@dataclass
class World:
    owner: Any
    owner_actor: Actor
    manager: Any
    partner: Any
    main: str
    div_a: str
    branch_a: str
    partner_p: str
    div_b: str


async def build_world() -> World:
    business, owner = await make_business(name="Dash Co")
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    div_a = (await accounts.create_account(actor, name="Div Alpha", kind="division", parent_id=main)).id
    branch_a = (
        await accounts.create_account(actor, name="Alpha Branch", kind="division", parent_id=div_a)
    ).id
    partner_p = (
        await accounts.create_account(actor, name="Partner Papa", kind="partner", parent_id=div_a)
    ).id
    div_b = (await accounts.create_account(actor, name="Div Bravo", kind="division", parent_id=main)).id

    world = await accounts.system_account_id(business.id, "IDR", "world")
    await engine.execute(Operation(business.id, [Leg(world, main, 10_000_000, kind="topup")], internal=True))
    await engine.execute(
        Operation(
            business.id,
            [Leg(world, main, OLD_TOPUP, kind="topup")],
            internal=True,
            booked_at=clock.now() - timedelta(days=20),
        )
    )
    await ledger.create_transfer(
        actor, from_account_id=main, to_account_id=div_a, amount=3_000_000, reference="T-A"
    )
    await ledger.create_transfer(
        actor, from_account_id=div_a, to_account_id=branch_a, amount=400_000, reference="T-AB"
    )
    await ledger.create_transfer(
        actor, from_account_id=div_a, to_account_id=partner_p, amount=250_000, reference="T-AP"
    )
    await ledger.create_transfer(
        actor, from_account_id=main, to_account_id=div_b, amount=SIBLING_AMOUNT, reference="T-B"
    )
    # A hold inside A's subtree: on hold at the branch, pending in at the partner.
    await ledger.create_hold(
        actor, from_account_id=branch_a, to_account_id=partner_p, amount=60_000, reference="H-1"
    )

    manager = await identity.create_user(
        actor,
        username="alpha-mgr",
        full_name="Alpha Manager",
        email="am@example.com",
        role="division_manager",
        scope_account_id=div_a,
    )
    partner = await identity.create_user(
        actor,
        username="papa",
        full_name="Papa Partner",
        email="pp@example.com",
        role="partner",
        scope_account_id=partner_p,
    )
    await enrol(manager.id)
    await enrol(partner.id)
    return World(owner, actor, manager, partner, main, div_a, branch_a, partner_p, div_b)


def figure(html: str, name: str) -> int:
    """The integer shown in the element carrying data-figure="<name>" (English: `IDR 1,234,000`)."""
    match = re.search(rf'data-figure="{re.escape(name)}">([^<]*)<', html)
    assert match, f"no figure {name}"
    digits = re.sub(r"[^0-9-−]", "", match.group(1)).replace("−", "-")
    return int(digits or 0)


async def ledger_totals(actor: Actor, ids: list[str]) -> dict[str, int]:
    """Σ of ledger.services.balance over the given accounts (the ledger's own figures)."""
    total = {"available": 0, "on_hold": 0, "pending_in": 0, "posted": 0}
    for account_id in ids:
        b = await ledger.balance(actor, account_id)
        total["available"] += b.available
        total["on_hold"] += b.on_hold
        total["pending_in"] += b.pending_in
        total["posted"] += b.posted
    return total


async def test_figures_are_the_ledgers_balances_for_each_scope(db: str, new_client: Any) -> None:
    w = await build_world()
    owner_ids = [w.main, w.div_a, w.branch_a, w.partner_p, w.div_b]
    expectations = [
        (w.owner, owner_ids, 10_000_000, 0),
        (w.manager, [w.div_a, w.branch_a, w.partner_p], 3_000_000, 0),
        (w.partner, [w.partner_p], 250_000, 0),
    ]
    pages = {}
    for user, ids, money_in, money_out in expectations:
        client = await signed_in_client(new_client(), user)
        response = await client.get("/")
        assert response.status_code == 200, response.text[:500]
        html = pages[user.username] = response.text
        expected = await ledger_totals(w.owner_actor, ids)
        assert figure(html, "available-IDR") == expected["available"], user.username
        assert figure(html, "on-hold-IDR") == expected["on_hold"], user.username
        assert figure(html, "pending-in-IDR") == expected["pending_in"], user.username
        assert figure(html, "money-in-IDR") == money_in, user.username
        assert figure(html, "money-out-IDR") == money_out, user.username
        # The roll-up of the scope root is the same figure, from the accounts service.
        root = ids[0]
        rollup = await accounts.rollup_balance(w.owner_actor, root)
        assert rollup.available == expected["available"]

    owner, manager, partner = pages[w.owner.username], pages["alpha-mgr"], pages["papa"]
    # Distinct totals per scope, and the figures are not all equal.
    assert (
        len(
            {
                figure(owner, "available-IDR"),
                figure(manager, "available-IDR"),
                figure(partner, "available-IDR"),
            }
        )
        == 3
    )
    # The owner sees division B; its amount and name never reach A's manager or the partner.
    assert "777,777" in owner and "Div Bravo" in owner
    for html in (manager, partner):
        assert "777,777" not in html and "Div Bravo" not in html and "T-B" not in html
    # Top accounts: the owner sees the divisions under main (links to their pages), the manager A's children.
    assert f'href="/accounts/{w.div_a}"' in owner and f'href="/accounts/{w.div_b}"' in owner
    top = manager.split('id="dash-top"', 1)[1].split("</ul>", 1)[0]
    assert f"/accounts/{w.branch_a}" in top and f"/accounts/{w.partner_p}" in top and w.div_b not in top
    # The branch's hold: on hold for the manager, pending in for the partner.
    assert figure(manager, "on-hold-IDR") == 60_000 and figure(partner, "pending-in-IDR") == 60_000
    # Internal moves inside A's subtree are not money in or out of it.
    assert "T-AP" in manager and "T-AP" in partner and "T-AB" not in partner


async def test_money_in_minus_out_is_the_posted_balance(db: str) -> None:
    """Over any window holding all history, money crossing the scope's boundary nets to its posted balance."""
    w = await build_world()
    for scope in (None, w.div_a, w.partner_p, w.div_b):
        actor = Actor(w.owner_actor.business_id, w.owner_actor.rights, scope_account_id=scope)
        window = await dashboard.window_flows(actor, "month")
        flow = window.flows[0]
        totals = (await dashboard.balances(actor))[0]
        assert flow.money_in - flow.money_out == totals.posted, scope
        assert sum(d.money_in for d in flow.days) == flow.money_in


async def test_weekly_and_monthly_windows(db: str, client: Any) -> None:
    w = await build_world()
    await signed_in_client(client, w.owner)
    week = await client.get("/")
    month = await client.get("/?window=month")
    assert figure(week.text, "money-in-IDR") == 10_000_000
    assert figure(month.text, "money-in-IDR") == 10_000_000 + OLD_TOPUP
    assert re.search(r'class="segmented__option is-active" href="/\?window=week"', week.text)
    assert re.search(r'class="segmented__option is-active" href="/\?window=month"', month.text)
    # A chart with an accessible name and a data table; every bar's amount is in the table.
    for html, days in ((week.text, 7), (month.text, 30)):
        svg = html.split('<svg class="chart__svg"', 1)[1].split("</svg>", 1)[0]
        assert "<title" in svg and "<desc" in svg and "style=" not in svg
        table = html.split('<div class="sr-only"><table>', 1)[1].split("</table>", 1)[0]
        assert table.count('<th scope="row">') == days
    assert "IDR 5,432,100" in month.text.split('<div class="sr-only"><table>', 1)[1]
    # Anything else is the weekly window.
    assert figure((await client.get("/?window=year")).text, "money-in-IDR") == 10_000_000


async def test_htmx_toggle_renders_only_the_window_block(db: str, client: Any) -> None:
    w = await build_world()
    await signed_in_client(client, w.owner)
    fragment = await client.get("/?window=month", headers={"HX-Request": "true", "HX-Target": "dash-window"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="dash-window"' not in fragment.text
    assert "Recent transfers" not in fragment.text and "segmented__option is-active" in fragment.text
    assert figure(fragment.text, "money-in-IDR") == 10_000_000 + OLD_TOPUP
    # Another htmx request (no boost) gets the content block; a boosted one the whole page.
    content = await client.get("/", headers={"HX-Request": "true"})
    assert "<html" not in content.text and "Recent transfers" in content.text
    boosted = await client.get("/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text


async def test_actions_for_the_rights_holder(db: str, new_client: Any) -> None:
    w = await build_world()
    await ledger.create_topup(w.owner_actor, account_id=w.partner_p, amount=100_000, reference="TOP-P")
    await ledger.create_topup(w.owner_actor, account_id=w.div_b, amount=100_000, reference="TOP-B")
    owner = (await (await signed_in_client(new_client(), w.owner)).get("/")).text
    actions = owner.split('id="dash-actions"', 1)[1].split("</ul>", 1)[0]
    assert "TOP-P" in actions and "TOP-B" in actions
    manager = (await (await signed_in_client(new_client(), w.manager)).get("/")).text
    actions = manager.split('id="dash-actions"', 1)[1].split("</ul>", 1)[0]
    assert "TOP-P" in actions and "TOP-B" not in actions
    assert "mark-paid" not in manager  # a division manager views payouts, does not manage them


async def test_empty_business_shows_empty_states(db: str, client: Any) -> None:
    _business, owner = await make_business(name="Empty Co")
    await signed_in_client(client, owner)
    response = await client.get("/")
    assert response.status_code == 200
    assert figure(response.text, "available-IDR") == 0
    for text in (
        "No money moved in this period",
        "No transfers yet",
        "No sub-accounts",
        "Nothing needs your attention",
    ):
        assert text in response.text
    assert "chart__svg" not in response.text


async def test_anonymous_is_sent_to_login(client: Any) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    htmx = await client.get("/?window=month", headers={"HX-Request": "true", "HX-Target": "dash-window"})
    assert htmx.status_code == 401 and htmx.headers.get("hx-redirect", "").startswith("/login")
