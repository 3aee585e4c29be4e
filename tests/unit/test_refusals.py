"""Every ledger refusal renders in English and Indonesian: as an API problem (by Accept-Language) and as
the text the portal shows (the session's language), with amounts through the money formatter."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, Request, get
from litestar.testing import TestClient

from portal.domains.ledger.refusals import ENGINE_PRECEDENCE, REFUSALS, Refusal, refusal_of, refuse
from portal.lib.i18n import current_language, negotiate
from portal.server.errors import EXCEPTION_HANDLERS, TITLES

# Typed params of each refusal, as the ledger raises it (amounts in minor units).
SAMPLES: dict[Refusal, dict[str, Any]] = {
    Refusal.DUPLICATE_REFERENCE: {"reference": "INV-7"},
    Refusal.ACCOUNT_NOT_FOUND: {"account_id": "acc_missing"},
    Refusal.CURRENCY_MISMATCH: {
        "debit_account_id": "acc_a",
        "debit_currency": "IDR",
        "credit_account_id": "acc_b",
        "credit_currency": "USD",
    },
    Refusal.ACCOUNT_CLOSED: {"account_id": "acc_closed"},
    Refusal.ACCOUNT_FROZEN: {"account_id": "acc_frozen"},
    Refusal.INSUFFICIENT_FUNDS: {
        "account_id": "acc_poor",
        "available": 5_000,
        "requested": 145_000,
        "currency": "IDR",
    },
    Refusal.SAME_ACCOUNT: {"account_id": "acc_a"},
    Refusal.HOLD_NOT_PENDING: {"hold_id": "hld_1", "status": "posted"},
    Refusal.HOLD_AMOUNT_EXCEEDED: {"hold_id": "hld_1", "held": 5_000, "currency": "IDR"},
    Refusal.NOT_REVERSIBLE: {"transfer_id": "trf_1"},
    Refusal.ALREADY_REVERSED: {"transfer_id": "trf_1"},
    Refusal.TOPUP_EXPIRED: {"topup_id": "top_1"},
    Refusal.TOPUP_NOT_PENDING: {"topup_id": "top_1", "status": "paid"},
    Refusal.WITHDRAWAL_NOT_PENDING: {"withdrawal_id": "wdr_1", "status": "failed"},
    Refusal.NO_SETTLEMENT_BANK: {"account_id": "acc_a"},
    Refusal.NOT_SANDBOX: {},
    Refusal.MONITORING_BLOCKED: {"rule": "Large single amount"},
}

# Words each rendering must show (the typed params, amounts formatted for the language).
SHOWN = {
    "en": {
        Refusal.INSUFFICIENT_FUNDS: ["acc_poor", "IDR 5,000", "IDR 145,000"],
        Refusal.HOLD_AMOUNT_EXCEEDED: ["IDR 5,000", "hld_1"],
        Refusal.HOLD_NOT_PENDING: ["Posted"],
        Refusal.DUPLICATE_REFERENCE: ["INV-7"],
    },
    "id": {
        Refusal.INSUFFICIENT_FUNDS: ["acc_poor", "Rp5.000", "Rp145.000"],
        Refusal.HOLD_AMOUNT_EXCEEDED: ["Rp5.000", "hld_1"],
        Refusal.HOLD_NOT_PENDING: ["Dibukukan"],
        Refusal.DUPLICATE_REFERENCE: ["INV-7"],
    },
}


def _params(refusal: Refusal) -> dict[str, Any]:
    return dict(SAMPLES[refusal])


@get("/api/v1/refusals/{name:str}")
async def _raise(name: str) -> None:
    raise refuse(Refusal(name), "/amount", **_params(Refusal(name)))


async def _language(request: Request[Any, Any, Any]) -> None:
    current_language.set(negotiate(None, request.headers.get("accept-language")))


@pytest.fixture(scope="module")
def api() -> Any:
    app = Litestar([_raise], exception_handlers=EXCEPTION_HANDLERS, before_request=_language)
    with TestClient(app) as client:
        yield client


def test_every_refusal_has_a_sample_and_the_engine_order_is_a_prefix() -> None:
    assert set(SAMPLES) == set(Refusal) == set(REFUSALS)
    assert list(Refusal)[: len(ENGINE_PRECEDENCE)] == list(ENGINE_PRECEDENCE)


@pytest.mark.parametrize("refusal", list(Refusal))
def test_every_refusal_renders_in_both_languages_through_the_api(api: Any, refusal: Refusal) -> None:
    bodies = {}
    for language in ("en", "id"):
        response = api.get(f"/api/v1/refusals/{refusal.value}", headers={"Accept-Language": language})
        assert response.status_code == REFUSALS[refusal].error.status
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["code"] == REFUSALS[refusal].code
        assert body["params"] == _params(refusal), "the typed params travel as they are"
        for text in (body["title"], body["detail"], body["errors"][0]["detail"]):
            assert text and "%(" not in text
        for word in SHOWN[language].get(refusal, []):
            assert word in body["detail"] + body["errors"][0]["detail"], (language, word, body)
        bodies[language] = body
    en, id_ = bodies["en"], bodies["id"]
    assert en["detail"] != id_["detail"], f"{refusal} detail is not translated"
    assert en["title"] != id_["title"], f"{refusal} title is not translated"
    assert en["errors"][0]["detail"] != id_["errors"][0]["detail"] or refusal is Refusal.NOT_SANDBOX
    assert en["errors"][0]["pointer"] == id_["errors"][0]["pointer"] == "/amount"


@pytest.mark.parametrize("refusal", list(Refusal))
def test_every_refusal_reads_in_the_portal_language_when_shown(refusal: Refusal) -> None:
    error = refuse(refusal, "/amount", **_params(refusal))
    assert refusal_of(error) is refusal
    shown = {}
    for language in ("en", "id"):
        token = current_language.set(language)
        try:
            shown[language] = (error.title, error.detail, error.errors[0].detail)
        finally:
            current_language.reset(token)
        for word in SHOWN[language].get(refusal, []):
            assert word in shown[language][1] + shown[language][2]
    assert shown["en"][:2] != shown["id"][:2]


def test_insufficient_funds_reads_as_people_write_money() -> None:
    error = refuse(Refusal.INSUFFICIENT_FUNDS, "/amount", **_params(Refusal.INSUFFICIENT_FUNDS))
    token = current_language.set("id")
    try:
        assert error.detail == "Saldo tersedia akun acc_poor Rp5.000; yang diminta Rp145.000."
        assert error.title == "Saldo tidak mencukupi"
    finally:
        current_language.reset(token)
    assert error.detail == "Account acc_poor has IDR 5,000 available; IDR 145,000 is requested."


def test_every_problem_title_is_translated() -> None:
    token = current_language.set("id")
    try:
        from portal.lib.i18n import gettext

        untranslated = [title for title in TITLES.values() if gettext(title) == title]
    finally:
        current_language.reset(token)
    assert untranslated == []
