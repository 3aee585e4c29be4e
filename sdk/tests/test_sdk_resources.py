"""Every endpoint of docs/api-contract.md: the route, query and body the SDK sends, and the typed result."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from sdk_support import (
    BANK,
    Recorder,
    account_json,
    balance_json,
    group_json,
    hold_json,
    make_client,
    me_json,
    page_json,
    topup_json,
    transfer_json,
    withdrawal_json,
)

from neraca import (
    Account,
    Balance,
    BankAccount,
    Hold,
    Me,
    Neraca,
    NeracaError,
    TopUp,
    Transfer,
    TransferGroup,
    Withdrawal,
)

WIB = timezone(timedelta(hours=7))

# (name, call, answer, method, path, query, body, result type); body None means "no body at all".
ENDPOINTS: list[
    tuple[str, Callable[[Neraca], Any], dict[str, Any], str, str, dict[str, list[str]], Any, type]
] = [
    ("me", lambda c: c.me.retrieve(), me_json(), "GET", "/api/v1/me", {}, None, Me),
    (
        "accounts.create",
        lambda c: c.accounts.create(name="Marketing", kind="division", parent_id="acc_main"),
        account_json(),
        "POST",
        "/api/v1/accounts",
        {},
        {"name": "Marketing", "kind": "division", "parent_id": "acc_main", "currency": "IDR"},
        Account,
    ),
    (
        "accounts.create full",
        lambda c: c.accounts.create(
            name="Toko Budi",
            kind="partner",
            parent_id="acc_main",
            currency="USD",
            reference="P-1",
            email="budi@example.id",
            phone="+6281234",
            metadata={"tier": "gold"},
        ),
        account_json(kind="partner"),
        "POST",
        "/api/v1/accounts",
        {},
        {
            "name": "Toko Budi",
            "kind": "partner",
            "parent_id": "acc_main",
            "currency": "USD",
            "reference": "P-1",
            "email": "budi@example.id",
            "phone": "+6281234",
            "metadata": {"tier": "gold"},
        },
        Account,
    ),
    (
        "accounts.retrieve",
        lambda c: c.accounts.retrieve("acc_div1"),
        account_json(),
        "GET",
        "/api/v1/accounts/acc_div1",
        {},
        None,
        Account,
    ),
    (
        "accounts.update",
        lambda c: c.accounts.update(
            "acc_div1", name="Growth", email=None, settlement_bank=BankAccount(**BANK)
        ),
        account_json(name="Growth", settlement_bank=BANK),
        "PATCH",
        "/api/v1/accounts/acc_div1",
        {},
        {"name": "Growth", "email": None, "settlement_bank": BANK},
        Account,
    ),
    (
        "accounts.freeze",
        lambda c: c.accounts.freeze("acc_div1"),
        account_json(status="frozen"),
        "POST",
        "/api/v1/accounts/acc_div1/freeze",
        {},
        None,
        Account,
    ),
    (
        "accounts.unfreeze",
        lambda c: c.accounts.unfreeze("acc_div1"),
        account_json(),
        "POST",
        "/api/v1/accounts/acc_div1/unfreeze",
        {},
        None,
        Account,
    ),
    (
        "accounts.close",
        lambda c: c.accounts.close("acc_div1"),
        account_json(status="closed"),
        "POST",
        "/api/v1/accounts/acc_div1/close",
        {},
        None,
        Account,
    ),
    (
        "balances.retrieve",
        lambda c: c.balances.retrieve("acc_div1"),
        balance_json(),
        "GET",
        "/api/v1/balances/acc_div1",
        {},
        None,
        Balance,
    ),
    (
        "balances.retrieve as_of",
        lambda c: c.balances.retrieve("acc_div1", as_of=datetime(2026, 11, 22, 11, 0, tzinfo=WIB)),
        balance_json(),
        "GET",
        "/api/v1/balances/acc_div1",
        {"as_of": ["2026-11-22T04:00:00Z"]},
        None,
        Balance,
    ),
    (
        "balances.rollup",
        lambda c: c.balances.rollup("acc_main"),
        balance_json(accounts=4),
        "GET",
        "/api/v1/balances/acc_main/rollup",
        {},
        None,
        Balance,
    ),
    (
        "transfers.create",
        lambda c: c.transfers.create(
            from_account_id="acc_main", to_account_id="acc_div1", amount=150000, reference="INV-1"
        ),
        transfer_json(),
        "POST",
        "/api/v1/transfers",
        {},
        {"from_account_id": "acc_main", "to_account_id": "acc_div1", "amount": 150000, "reference": "INV-1"},
        Transfer,
    ),
    (
        "transfers.create_group",
        lambda c: c.transfers.create_group(
            reference="SPLIT-1",
            transfers=[
                {"from_account_id": "acc_main", "to_account_id": "acc_div1", "amount": 70000},
                {
                    "from_account_id": "acc_main",
                    "to_account_id": "acc_div2",
                    "amount": 30000,
                    "description": "fee",
                },
            ],
        ),
        group_json(),
        "POST",
        "/api/v1/transfer-groups",
        {},
        {
            "reference": "SPLIT-1",
            "transfers": [
                {"from_account_id": "acc_main", "to_account_id": "acc_div1", "amount": 70000},
                {
                    "from_account_id": "acc_main",
                    "to_account_id": "acc_div2",
                    "amount": 30000,
                    "description": "fee",
                },
            ],
        },
        TransferGroup,
    ),
    (
        "transfers.retrieve",
        lambda c: c.transfers.retrieve("trf_1"),
        transfer_json(),
        "GET",
        "/api/v1/transfers/trf_1",
        {},
        None,
        Transfer,
    ),
    (
        "holds.create",
        lambda c: c.holds.create(
            from_account_id="acc_div1",
            to_account_id="acc_main",
            amount=5000,
            reference="HOLD-1",
            expires_at=datetime(2026, 11, 23, tzinfo=UTC),
        ),
        hold_json(),
        "POST",
        "/api/v1/holds",
        {},
        {
            "from_account_id": "acc_div1",
            "to_account_id": "acc_main",
            "amount": 5000,
            "reference": "HOLD-1",
            "expires_at": "2026-11-23T00:00:00Z",
        },
        Hold,
    ),
    (
        "holds.retrieve",
        lambda c: c.holds.retrieve("hld_1"),
        hold_json(),
        "GET",
        "/api/v1/holds/hld_1",
        {},
        None,
        Hold,
    ),
    (
        "holds.post all",
        lambda c: c.holds.post("hld_1"),
        hold_json(status="posted", posted_amount=5000),
        "POST",
        "/api/v1/holds/hld_1/post",
        {},
        {},
        Hold,
    ),
    (
        "holds.post part",
        lambda c: c.holds.post("hld_1", amount=2000),
        hold_json(status="posted"),
        "POST",
        "/api/v1/holds/hld_1/post",
        {},
        {"amount": 2000},
        Hold,
    ),
    (
        "holds.void",
        lambda c: c.holds.void("hld_1"),
        hold_json(status="voided"),
        "POST",
        "/api/v1/holds/hld_1/void",
        {},
        None,
        Hold,
    ),
    (
        "topups.create",
        lambda c: c.topups.create(account_id="acc_main", amount=1000000, reference="TOP-1"),
        topup_json(),
        "POST",
        "/api/v1/topups",
        {},
        {"account_id": "acc_main", "amount": 1000000, "reference": "TOP-1"},
        TopUp,
    ),
    (
        "topups.retrieve",
        lambda c: c.topups.retrieve("top_1"),
        topup_json(),
        "GET",
        "/api/v1/topups/top_1",
        {},
        None,
        TopUp,
    ),
    (
        "topups.simulate_payment",
        lambda c: c.topups.simulate_payment("top_1"),
        topup_json(status="paid"),
        "POST",
        "/api/v1/topups/top_1/simulate-payment",
        {},
        None,
        TopUp,
    ),
    (
        "withdrawals.create",
        lambda c: c.withdrawals.create(account_id="acc_div1", amount=100000, reference="WDR-1"),
        withdrawal_json(),
        "POST",
        "/api/v1/withdrawals",
        {},
        {"account_id": "acc_div1", "amount": 100000, "reference": "WDR-1"},
        Withdrawal,
    ),
    (
        "withdrawals.retrieve",
        lambda c: c.withdrawals.retrieve("wdr_1"),
        withdrawal_json(),
        "GET",
        "/api/v1/withdrawals/wdr_1",
        {},
        None,
        Withdrawal,
    ),
    (
        "withdrawals.mark_paid",
        lambda c: c.withdrawals.mark_paid("wdr_1"),
        withdrawal_json(status="paid"),
        "POST",
        "/api/v1/withdrawals/wdr_1/mark-paid",
        {},
        None,
        Withdrawal,
    ),
    (
        "withdrawals.mark_failed",
        lambda c: c.withdrawals.mark_failed("wdr_1", reason="account closed"),
        withdrawal_json(status="failed", failure_reason="account closed"),
        "POST",
        "/api/v1/withdrawals/wdr_1/mark-failed",
        {},
        {"reason": "account closed"},
        Withdrawal,
    ),
    (
        "accounts.list",
        lambda c: c.accounts.list(
            parent_id="acc_main", kind="division", status="active", q="mark", limit=5
        ).page(),
        page_json([account_json()], None),
        "GET",
        "/api/v1/accounts",
        {
            "parent_id": ["acc_main"],
            "kind": ["division"],
            "status": ["active"],
            "q": ["mark"],
            "limit": ["5"],
        },
        None,
        None,
    ),
    (
        "transfers.list",
        lambda c: c.transfers.list(
            account_id="acc_div1",
            reference="INV-1",
            created_from=datetime(2026, 11, 1, tzinfo=WIB),
            created_to=datetime(2026, 12, 1, tzinfo=UTC),
        ).page(),
        page_json([transfer_json()], None),
        "GET",
        "/api/v1/transfers",
        {
            "account_id": ["acc_div1"],
            "reference": ["INV-1"],
            "created_from": ["2026-10-31T17:00:00Z"],
            "created_to": ["2026-12-01T00:00:00Z"],
        },
        None,
        None,
    ),
    (
        "topups.list",
        lambda c: c.topups.list(account_id="acc_main", status="paid").page(),
        page_json([topup_json()], None),
        "GET",
        "/api/v1/topups",
        {"account_id": ["acc_main"], "status": ["paid"]},
        None,
        None,
    ),
    (
        "withdrawals.list",
        lambda c: c.withdrawals.list(status="failed", limit=100).page(),
        page_json([withdrawal_json()], None),
        "GET",
        "/api/v1/withdrawals",
        {"status": ["failed"], "limit": ["100"]},
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("call", "answer", "method", "path", "params", "body", "result_type"),
    [pytest.param(*row[1:], id=row[0]) for row in ENDPOINTS],
)
def test_endpoint(
    call: Callable[[Neraca], Any],
    answer: dict[str, Any],
    method: str,
    path: str,
    params: dict[str, list[str]],
    body: Any,
    result_type: type | None,
) -> None:
    recorder = Recorder([httpx.Response(200, json=answer)])
    result = call(make_client(recorder))
    (request,) = recorder.requests
    assert request.method == method
    assert request.url.path == path
    assert parse_qs(request.url.query.decode()) == params
    if body is None:
        assert request.content == b""
    else:
        assert json.loads(request.content) == body
    if result_type is not None:
        assert isinstance(result, result_type)
        assert result.raw == answer


def test_every_public_resource_method_is_covered() -> None:
    """A new SDK method must get a row in ENDPOINTS (or in the statements tests)."""
    client = make_client(Recorder([httpx.Response(200, json={})]))
    names = {row[0].split(" ")[0] for row in ENDPOINTS}
    for resource in ("me", "accounts", "balances", "transfers", "holds", "topups", "withdrawals"):
        obj = getattr(client, resource)
        for attr in dir(obj):
            if not attr.startswith("_") and callable(getattr(obj, attr)):
                key = "me" if resource == "me" else f"{resource}.{attr}"
                assert key in names, f"{key} has no test row"


def test_models_are_typed_and_aware() -> None:
    recorder = Recorder([httpx.Response(200, json=topup_json(created_at="2026-11-22T11:00:00+07:00"))])
    topup = make_client(recorder).topups.retrieve("top_1")
    assert topup.amount == 1000000 and topup.fee == 6000 and topup.total == 1006000
    assert topup.created_at == datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    assert topup.created_at.tzinfo is not None
    assert topup.expires_at is not None and topup.expires_at.tzinfo is not None
    assert topup.paid_at is None
    assert topup.payment_instructions == BankAccount(**BANK)


def test_unknown_fields_are_tolerated_and_kept_in_raw() -> None:
    answer = transfer_json(fx_rate="1", new_thing={"nested": True})
    recorder = Recorder([httpx.Response(200, json=answer)])
    transfer = make_client(recorder).transfers.retrieve("trf_1")
    assert transfer.amount == 150000
    assert transfer.raw["new_thing"] == {"nested": True}
    assert "raw" not in repr(transfer)


def test_group_contains_typed_transfers() -> None:
    recorder = Recorder([httpx.Response(200, json=group_json())])
    group = make_client(recorder).transfers.create_group(
        reference="SPLIT-1", transfers=[{"from_account_id": "a", "to_account_id": "b", "amount": 1}]
    )
    assert [t.group_id for t in group.transfers] == ["grp_1", "grp_1"]
    assert all(isinstance(t, Transfer) for t in group.transfers)


def test_me_and_rollup_models() -> None:
    me = make_client(Recorder([httpx.Response(200, json=me_json())])).me.retrieve()
    assert me.business.mode == "sandbox" and me.scope_account_id is None
    rollup = make_client(Recorder([httpx.Response(200, json=balance_json(accounts=4))])).balances.rollup(
        "acc_main"
    )
    assert rollup.accounts == 4 and rollup.available == 150000


@pytest.mark.parametrize("amount", [1500.0, "1500", True, None])
def test_amounts_must_be_ints_before_anything_is_sent(amount: Any) -> None:
    recorder = Recorder([httpx.Response(200, json=transfer_json())])
    client = make_client(recorder)
    with pytest.raises(TypeError, match="minor units"):
        client.transfers.create(from_account_id="a", to_account_id="b", amount=amount, reference="r")
    with pytest.raises(TypeError, match=r"transfers\[1\].amount"):
        client.transfers.create_group(
            reference="g",
            transfers=[
                {"from_account_id": "a", "to_account_id": "b", "amount": 1},
                {"from_account_id": "a", "to_account_id": "b", "amount": amount},
            ],
        )
    assert recorder.requests == []


def test_naive_datetimes_are_refused() -> None:
    client = make_client(Recorder([httpx.Response(200, json=balance_json())]))
    with pytest.raises(ValueError, match="timezone"):
        client.balances.retrieve("acc_1", as_of=datetime(2026, 11, 22, 4, 0))


def test_a_statement_period_takes_dates_not_datetimes() -> None:
    client = make_client(Recorder([httpx.Response(200, json={})]))
    with pytest.raises(TypeError, match="date"):
        client.statements.entries(
            account_id="acc_1", start=datetime(2026, 11, 1, tzinfo=UTC), end=date(2026, 11, 2)
        )


# --- configuration ---------------------------------------------------------------------------------


def test_configuration_falls_back_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NERACA_CLIENT_ID", "cid_env")
    monkeypatch.setenv("NERACA_CLIENT_SECRET", "secret_env")
    monkeypatch.setenv("NERACA_BASE_URL", "https://neraca.example.id/")
    with Neraca() as client:
        assert client.client_id == "cid_env"
        assert client.base_url == "https://neraca.example.id/api/v1"
        assert "secret_env" not in repr(client)


def test_missing_configuration_names_what_is_missing() -> None:
    with pytest.raises(NeracaError) as info:
        Neraca(client_id="cid")
    message = str(info.value)
    assert "client_secret" in message and "NERACA_CLIENT_SECRET" in message
    assert "NERACA_BASE_URL" in message
    assert "client_id=" not in message


def test_base_url_may_already_end_with_the_api_prefix() -> None:
    client = Neraca(client_id="c", client_secret="s", base_url="http://127.0.0.1:8000/api/v1/")
    assert client.base_url == "http://127.0.0.1:8000/api/v1"
    client.close()


@pytest.mark.parametrize(
    "bad", [{"base_url": "neraca.example.id"}, {"max_retries": -1}, {"max_retries": True}]
)
def test_bad_configuration_is_refused(bad: dict[str, Any]) -> None:
    options: dict[str, Any] = {"client_id": "c", "client_secret": "s", "base_url": "http://x"}
    options.update(bad)
    with pytest.raises((NeracaError, ValueError)):
        Neraca(**options)


def test_wrong_kind_of_http_client_is_refused() -> None:
    with pytest.raises(TypeError, match=r"httpx\.Client"):
        Neraca(client_id="c", client_secret="s", base_url="http://x", http_client=httpx.AsyncClient())  # type: ignore[arg-type]


def test_close_leaves_an_injected_client_open_but_closes_its_own() -> None:
    injected = httpx.Client()
    with Neraca(client_id="c", client_secret="s", base_url="http://x", http_client=injected):
        pass
    assert not injected.is_closed
    injected.close()
    own = Neraca(client_id="c", client_secret="s", base_url="http://x")
    with own:
        pass
    assert own._http.is_closed


def test_user_agent_and_accept_headers() -> None:
    recorder = Recorder([httpx.Response(200, json=me_json())])
    make_client(recorder).me.retrieve()
    (request,) = recorder.requests
    assert request.headers["User-Agent"].startswith("neraca-python/")
    assert request.headers["Accept"] == "application/json"
