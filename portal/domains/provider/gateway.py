"""The payment provider interface: the one module the domains call to move money through the provider.

`provider()` returns the configured adapter. The `Provider` protocol is what a real provider's adapter
implements (docs/provider.md); `SandboxProvider` speaks the sandbox simulator's HTTP API.

Every outbound call has a *purpose* (e.g. `payin:top_…`), and its idempotency key (`X-EXTERNAL-ID`) is
stored and committed in `provider_request` before the call is sent, so any retry of that purpose —
after a crash, a timeout, a second click — reuses the key and the provider answers it once. An unknown
outcome (a timeout or a reset after the request left) is resolved by a status query; it is never
guessed. Calls are never made inside a database transaction (no lock is held across the network).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import httpx
import structlog

from portal.lib import snap, sql
from portal.lib.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.settings import ProviderSettings, get_settings

# One TLS context for every call: building one per client costs ~40 ms of CPU and blocks the loop.
_SSL: ssl.SSLContext | None = None
# The shared keep-alive clients, one per (event loop, provider URL, timeout).
_CLIENTS: dict[tuple[int, str, float], tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]] = {}

log = structlog.get_logger("neraca.provider")

VA_BANKS = {"014": "BCA", "002": "BRI", "009": "BNI", "008": "Mandiri", "013": "Permata", "022": "CIMB"}
WALLETS = ("OVO", "GOPAY", "DANA", "SHOPEEPAY", "LINKAJA")
RAILS = ("bifast", "online", "skn", "rtgs", "ewallet")
CHANNELS = ("virtual_account", "qris", "card", "ewallet")


# --- errors ---------------------------------------------------------------------------------------


class ProviderError(ServiceUnavailable):
    """The provider could not be reached or refused to work; nothing was decided on our side."""

    code = "provider_unavailable"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": "5"})
        super().__init__(detail, **kwargs)


class ProviderOutcomeUnknown(ProviderError):
    """A call left but its answer did not arrive and no status query could settle it yet.

    Retrying the same purpose is safe: it reuses the idempotency key."""

    code = "provider_outcome_unknown"


class ProviderRefused(ValidationFailed):
    """The provider refused the request (400/404/422): the input is wrong for the provider."""

    code = "provider_refused"


class ProviderConflict(Conflict):
    """The provider says the state does not allow this (a cancel of a paid pay-in, a key reused)."""

    code = "provider_conflict"


class ProviderNotFound(NotFound):
    code = "provider_not_found"


# --- typed results --------------------------------------------------------------------------------


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Payin:
    payin_id: str
    reference: str
    status: str  # pending | paid | failed | expired | cancelled | refunded | partially_refunded | voided
    channel: str
    amount: int
    pay_url: str = ""
    va_number: str | None = None
    bank_code: str | None = None
    qris_string: str | None = None
    expires_at: datetime | None = None
    paid_at: datetime | None = None
    response_code: str | None = None
    approval_code: str | None = None
    response_message: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Payin:
        return cls(
            payin_id=str(data["payin_id"]),
            reference=str(data.get("reference", "")),
            status=str(data["status"]),
            channel=str(data.get("channel", "")),
            amount=int(data["amount"]),
            pay_url=str(data.get("pay_url") or ""),
            va_number=data.get("va_number"),
            bank_code=data.get("bank_code"),
            qris_string=data.get("qris_string"),
            expires_at=_when(data.get("expires_at")),
            paid_at=_when(data.get("paid_at")),
            response_code=data.get("response_code"),
            approval_code=data.get("approval_code"),
            response_message=data.get("response_message"),
        )


@dataclass(frozen=True)
class ServiceState:
    """A merchant's financial service at the provider (split settlement): `inactive`, `updating` (asked,
    under the provider's review) or `active`."""

    service: str
    status: str


@dataclass(frozen=True)
class PayinRequest:
    reference: str
    channel: str
    amount: int
    expires_at: datetime
    customer_name: str
    currency: str = "IDR"
    bank_code: str | None = None
    card_token: str | None = None
    wallet: str | None = None
    phone: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Refund:
    refund_id: str
    status: str  # succeeded | failed
    amount: int


@dataclass(frozen=True)
class CardRegistration:
    registration_id: str
    status: str  # pending | registered | failed
    hosted_url: str = ""
    token: str | None = None
    first6: str | None = None
    last4: str | None = None
    brand: str | None = None
    issuer: str | None = None
    expiry_month: int | None = None
    expiry_year: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CardRegistration:
        # Only the token and the masked parts are read: a full card number never enters Neraca.
        return cls(
            registration_id=str(data["registration_id"]),
            status=str(data["status"]),
            hosted_url=str(data.get("hosted_url") or ""),
            token=data.get("token"),
            first6=data.get("first6"),
            last4=data.get("last4"),
            brand=data.get("brand"),
            issuer=data.get("issuer"),
            expiry_month=int(data["expiry_month"]) if data.get("expiry_month") else None,
            expiry_year=int(data["expiry_year"]) if data.get("expiry_year") else None,
        )


@dataclass(frozen=True)
class NameInquiry:
    kind: str  # bank | ewallet
    bank_code: str | None = None
    account_number: str | None = None
    wallet: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class NameInquiryResult:
    status: str  # found | not_found | closed
    holder_name: str | None = None


@dataclass(frozen=True)
class PayoutRequest:
    reference: str
    rail: str
    amount: int
    beneficiary_name: str
    currency: str = "IDR"
    bank_code: str | None = None
    account_number: str | None = None
    wallet: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Payout:
    payout_id: str
    reference: str
    status: str  # submitted | succeeded | failed | reversed
    bank_reference: str | None = None
    failure_code: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Payout:
        return cls(
            payout_id=str(data["payout_id"]),
            reference=str(data.get("reference", "")),
            status=str(data["status"]),
            bank_reference=data.get("bank_reference"),
            failure_code=data.get("failure_code"),
        )


@dataclass(frozen=True)
class SettlementLine:
    payin_id: str
    reference: str
    amount: int
    fee: int
    refunded: int
    refund_fee: int
    net: int


@dataclass(frozen=True)
class SettlementReport:
    day: date
    channel: str
    lines: list[SettlementLine] = field(default_factory=list)
    gross: int = 0
    fees: int = 0
    refunds: int = 0
    refund_fees: int = 0
    net: int = 0


# --- the interface --------------------------------------------------------------------------------


class Provider(Protocol):
    """What Neraca needs from a payment provider. `business_id` is the merchant at the provider."""

    async def create_payin(self, business_id: str, request: PayinRequest) -> Payin: ...
    async def charge_cards(
        self, business_id: str, requests: list[PayinRequest]
    ) -> list[Payin | ProviderRefused | ProviderConflict]: ...
    async def get_payin(self, business_id: str, payin_id: str) -> Payin: ...
    async def find_payin(self, business_id: str, reference: str) -> Payin | None: ...
    async def cancel_payin(self, business_id: str, payin_id: str) -> Payin: ...
    async def refund_payin(self, business_id: str, payin_id: str, amount: int, reference: str) -> Refund: ...
    async def void_payin(self, business_id: str, payin_id: str) -> Payin: ...
    async def register_card(
        self, business_id: str, customer_ref: str, return_url: str
    ) -> CardRegistration: ...
    async def get_card_registration(self, business_id: str, registration_id: str) -> CardRegistration: ...
    async def name_inquiry(self, business_id: str, inquiry: NameInquiry) -> NameInquiryResult: ...
    async def submit_payout(self, business_id: str, request: PayoutRequest) -> Payout: ...
    async def create_payouts(
        self, business_id: str, requests: list[PayoutRequest]
    ) -> list[Payout | ProviderRefused | ProviderConflict | ProviderError]: ...
    async def get_payout(self, business_id: str, payout_id: str) -> Payout: ...
    async def find_payout(self, business_id: str, reference: str) -> Payout | None: ...
    async def settlement_report(self, business_id: str, day: date, channel: str) -> SettlementReport: ...
    async def request_service(self, business_id: str, service: str) -> ServiceState: ...
    async def get_service(self, business_id: str, service: str) -> ServiceState: ...


def _item_refused(params: dict[str, str]) -> ProviderRefused | ProviderConflict:
    """A batch item the provider refused: a reference it already holds is a conflict, anything else a
    refusal with the provider's code."""
    message = N_("The payment provider refused: %(message)s (%(code)s).")
    if params["code"] == "duplicate_reference":
        return ProviderConflict(message, params=params, code="duplicate_reference")
    return ProviderRefused(message, params=params, code=params["code"] or "provider_refused")


def _payout_payload(request: PayoutRequest) -> dict[str, Any]:
    """A payout as the provider's API takes it, alone or as a batch item: the destination's fields it has."""
    payload: dict[str, Any] = {
        "reference": request.reference,
        "rail": request.rail,
        "amount": request.amount,
        "currency": request.currency,
        "beneficiary_name": request.beneficiary_name,
    }
    for name in ("bank_code", "account_number", "wallet", "phone"):
        value = getattr(request, name)
        if value is not None:
            payload[name] = value
    return payload


def _minified(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


def _timestamp(value: datetime) -> str:
    return value.astimezone(snap.WIB).replace(microsecond=0).isoformat()


# Items of one bulk payout call (`create_payouts`): the provider's limit.
MAX_PAYOUTS_PER_CALL = 500


class SandboxProvider:
    """The sandbox simulator over HTTP (`neraca simulator`), signed SNAP-style."""

    # Outbound attempts per call when the request never left (connect errors) or the rail is offline.
    CONNECT_ATTEMPTS = 3

    def __init__(
        self, config: ProviderSettings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.config = config or get_settings().provider
        self._transport = transport

    # -- plumbing --

    async def _key_for(
        self, business_id: str, purpose: str, method: str, path: str, body: bytes
    ) -> tuple[str, Any]:
        """The stored idempotency key of this purpose (created and committed now if new) and, when the
        provider already answered it, that answer."""
        if sql.in_transaction():
            raise RuntimeError("provider calls must not run inside a database transaction")
        row = await sql.fetchrow(
            "INSERT INTO provider_request (external_id, business_id, purpose, method, path, body) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (business_id, purpose) DO NOTHING "
            "RETURNING external_id",
            new_id("req"),
            business_id,
            purpose,
            method,
            path,
            body.decode(),
        )
        if row is not None:
            return str(row["external_id"]), None
        stored = await sql.fetchrow(
            "SELECT external_id, body, state, response FROM provider_request "
            "WHERE business_id = $1 AND purpose = $2",
            business_id,
            purpose,
        )
        assert stored is not None
        if stored["body"] != body.decode():
            raise ProviderConflict(
                N_("This provider request was already sent with other details."),
                code="idempotency_key_reused",
            )
        answer = (
            json.loads(stored["response"]) if stored["state"] == "answered" and stored["response"] else None
        )
        return str(stored["external_id"]), answer

    async def _record(self, external_id: str, state: str, status_code: int | None, response: Any) -> None:
        await sql.execute(
            "UPDATE provider_request SET state = $2, status_code = $3, response = $4::jsonb, "
            "attempts = attempts + 1, answered_at = now() WHERE external_id = $1",
            external_id,
            state,
            status_code,
            json.dumps(response) if response is not None else None,
        )

    def _new_client(self) -> httpx.AsyncClient:
        timeout = httpx.Timeout(self.config.timeout_s, connect=min(self.config.timeout_s, 3.0))
        global _SSL
        if _SSL is None:
            _SSL = ssl.create_default_context()
        return httpx.AsyncClient(
            base_url=self.config.url, timeout=timeout, transport=self._transport, verify=_SSL
        )

    def _client(self) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        """The keep-alive client of this event loop and configuration, shared by every call (a client per
        call opened a new connection each time); a test's own transport gets a client per call."""
        if self._transport is not None:
            return self._new_client()
        loop = asyncio.get_running_loop()
        key = (id(loop), self.config.url, self.config.timeout_s)
        held = _CLIENTS.get(key)
        if held is None or held[0] is not loop or held[1].is_closed:
            for stale in [k for k, (owner, _) in _CLIENTS.items() if owner.is_closed()]:
                del _CLIENTS[stale]
            held = (loop, self._new_client())
            _CLIENTS[key] = held
        return contextlib.nullcontext(held[1])

    def _raise_for(self, response: httpx.Response, data: Any) -> None:
        code = data.get("code", "") if isinstance(data, dict) else ""
        message = data.get("message", "") if isinstance(data, dict) else ""
        params = {"code": code or str(response.status_code), "message": message}
        if response.status_code == 404:
            raise ProviderNotFound(
                N_("The payment provider does not know this object (%(code)s)."), params=params
            )
        if response.status_code == 409:
            raise ProviderConflict(N_("The payment provider refused: %(message)s (%(code)s)."), params=params)
        if response.status_code in (400, 422):
            raise ProviderRefused(N_("The payment provider refused: %(message)s (%(code)s)."), params=params)
        raise ProviderError(
            N_("The payment provider is unavailable (%(code)s). Try again shortly."), params=params
        )

    async def _send(
        self,
        business_id: str,
        purpose: str,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
        *,
        resolve: Any = None,
    ) -> dict[str, Any]:
        """Send one call under its purpose's stored idempotency key and return the JSON answer.

        `resolve` (async, no argument) is the status query that settles an unknown outcome: it returns
        the object when the provider has it, None when the provider never recorded the request."""
        body = _minified({"merchant_id": business_id, **payload}) if payload is not None else b""
        external_id, answered = await self._key_for(business_id, purpose, method, path, body)
        if answered is not None:
            return dict(answered)
        unknown = False
        async with self._client() as client:
            for attempt in range(1, self.CONNECT_ATTEMPTS + 1):
                headers = snap.headers(
                    self.config.secret, self.config.partner_id, external_id, method, path, body
                )
                try:
                    response = await client.request(method, path, content=body or None, headers=headers)
                except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                    unknown = False  # the request never left: sending again is plainly safe
                    log.warning("provider unreachable", purpose=purpose, attempt=attempt)
                    continue
                except httpx.TransportError as exc:  # left, but no answer: resolve, never guess
                    log.warning("provider outcome unknown", purpose=purpose, error=type(exc).__name__)
                    unknown = True
                    if resolve is None:
                        continue  # same key, same body: the provider answers the first outcome
                    try:
                        found = await resolve()
                    except (httpx.TransportError, ProviderError):
                        break
                    if found is not None:
                        await self._record(external_id, "answered", None, found)
                        return dict(found)
                    unknown = False  # the provider never recorded it: send again with the same key
                    continue
                try:
                    data = response.json()
                except ValueError:
                    data = {}
                if response.is_success:
                    await self._record(external_id, "answered", response.status_code, data)
                    return dict(data)
                if response.status_code == 503 or response.status_code >= 500:
                    if attempt < self.CONNECT_ATTEMPTS and data.get("code") != "rail_offline":
                        continue
                    self._raise_for(response, data)
                await self._record(external_id, "refused", response.status_code, data)
                self._raise_for(response, data)
        if unknown:
            await self._record(external_id, "unknown", None, None)
            raise ProviderOutcomeUnknown(
                N_("The payment provider did not answer in time; the request will be checked again.")
            )
        raise ProviderError(N_("The payment provider cannot be reached. Try again shortly."))

    async def _get(
        self, business_id: str, path: str, params: dict[str, str] | None = None
    ) -> dict[str, Any] | None:
        """A signed status query (safe to repeat); None when the provider answers 404."""
        query = {"merchant_id": business_id, **(params or {})}
        full = httpx.URL(path, params=query)
        signed_path = full.raw_path.decode()
        headers = snap.headers(
            self.config.secret, self.config.partner_id, new_id("qry"), "GET", signed_path, b""
        )
        async with self._client() as client:
            try:
                response = await client.get(signed_path, headers=headers)
            except httpx.TransportError:
                raise ProviderError(
                    N_("The payment provider cannot be reached. Try again shortly.")
                ) from None
        data = response.json() if response.content else {}
        if response.status_code == 404:
            return None
        if not response.is_success:
            self._raise_for(response, data)
        return dict(data)

    # -- pay-ins --

    async def create_payin(self, business_id: str, request: PayinRequest) -> Payin:
        payload = {
            "reference": request.reference,
            "channel": request.channel,
            "amount": request.amount,
            "currency": request.currency,
            "expires_at": _timestamp(request.expires_at),
            "customer_name": request.customer_name,
        }
        for name in ("bank_code", "card_token", "wallet", "phone", "description"):
            value = getattr(request, name)
            if value is not None:
                payload[name] = value

        async def resolve() -> dict[str, Any] | None:
            return _one(await self._get(business_id, "/v1/payins", {"reference": request.reference}))

        data = await self._send(
            business_id, f"payin:{request.reference}", "POST", "/v1/payins", payload, resolve=resolve
        )
        return Payin.from_json(data)

    async def _post_batch(self, path: str, body: bytes, purpose: str) -> dict[str, Any]:
        """Send a batch call whose items are idempotent at the provider by their references (so under a
        fresh key, none stored): connect errors and 5xx answers are sent again (up to 3 attempts); a
        transport error after sending, or a 409 race between two calls, is `ProviderOutcomeUnknown`."""
        external_id = new_id("req")
        data: dict[str, Any] = {}
        async with self._client() as client:
            for attempt in range(1, self.CONNECT_ATTEMPTS + 1):
                headers = snap.headers(
                    self.config.secret, self.config.partner_id, external_id, "POST", path, body
                )
                try:
                    response = await client.post(path, content=body, headers=headers)
                except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                    log.warning("provider unreachable", purpose=purpose, attempt=attempt)
                    continue
                except httpx.TransportError as exc:
                    log.warning("provider outcome unknown", purpose=purpose, error=type(exc).__name__)
                    raise ProviderOutcomeUnknown(
                        N_("The payment provider did not answer in time; the request will be checked again.")
                    ) from None
                try:
                    data = response.json()
                except ValueError:
                    data = {}
                if response.is_success:
                    return data if isinstance(data, dict) else {}
                retryable = response.status_code >= 500 and data.get("code") != "rail_offline"
                if retryable and attempt < self.CONNECT_ATTEMPTS:
                    continue
                if response.status_code == 409:
                    # Two calls raced for one reference: sent again, each item answers its object.
                    raise ProviderOutcomeUnknown(
                        N_("The payment provider did not answer in time; the request will be checked again.")
                    )
                self._raise_for(response, data)
        raise ProviderError(N_("The payment provider cannot be reached. Try again shortly."))

    async def charge_cards(
        self, business_id: str, requests: list[PayinRequest]
    ) -> list[Payin | ProviderRefused | ProviderConflict]:
        """Charge several stored cards in one call (`card_token`, reference, amount each): one outcome per
        request, in order — the pay-in (paid or failed with its response code), or the refusal of that
        item alone. Each item is idempotent by its reference at the provider, so the call needs no stored
        key: sent again (a retry, a resumed run) it answers the items already charged with their first
        pay-in, never a second charge. An unknown outcome of the whole call (timeout after sending) raises
        `ProviderOutcomeUnknown`: the caller sends the same references again later."""
        if sql.in_transaction():
            raise RuntimeError("provider calls must not run inside a database transaction")
        charges = []
        for request in requests:
            item: dict[str, Any] = {
                "reference": request.reference,
                "amount": request.amount,
                "currency": request.currency,
                "customer_name": request.customer_name,
                "card_token": request.card_token,
            }
            if request.description is not None:
                item["description"] = request.description
            charges.append(item)
        body = _minified({"merchant_id": business_id, "charges": charges})
        data = await self._post_batch("/v1/payins/card-charges", body, "card-charges")
        answers = data.get("charges") if isinstance(data, dict) else None
        if not isinstance(answers, list) or len(answers) != len(requests):
            raise ProviderError(
                N_("The payment provider is unavailable (%(code)s). Try again shortly."),
                params={"code": "invalid_answer", "message": ""},
            )
        results: list[Payin | ProviderRefused | ProviderConflict] = []
        for answer in answers:
            if isinstance(answer.get("payin"), dict):
                results.append(Payin.from_json(answer["payin"]))
                continue
            error = answer.get("error") or {}
            params = {"code": str(error.get("code", "")), "message": str(error.get("message", ""))}
            results.append(_item_refused(params))
        return results

    async def get_payin(self, business_id: str, payin_id: str) -> Payin:
        data = await self._get(business_id, f"/v1/payins/{payin_id}")
        if data is None:
            raise ProviderNotFound(
                N_("The payment provider does not know this object (%(code)s)."), params={"code": payin_id}
            )
        return Payin.from_json(data)

    async def find_payin(self, business_id: str, reference: str) -> Payin | None:
        found = _one(await self._get(business_id, "/v1/payins", {"reference": reference}))
        return Payin.from_json(found) if found else None

    async def cancel_payin(self, business_id: str, payin_id: str) -> Payin:
        data = await self._send(
            business_id, f"cancel:{payin_id}", "POST", f"/v1/payins/{payin_id}/cancel", {}
        )
        return Payin.from_json(data)

    async def void_payin(self, business_id: str, payin_id: str) -> Payin:
        """Void a paid card charge before the provider's settlement cut-off (409 `void_window_closed`
        after it): the money never settles and no fee is taken."""
        data = await self._send(business_id, f"void:{payin_id}", "POST", f"/v1/payins/{payin_id}/void", {})
        return Payin.from_json(data)

    async def refund_payin(self, business_id: str, payin_id: str, amount: int, reference: str) -> Refund:
        data = await self._send(
            business_id,
            f"refund:{reference}",
            "POST",
            f"/v1/payins/{payin_id}/refunds",
            {"amount": amount, "reference": reference},
        )
        return Refund(str(data["refund_id"]), str(data["status"]), int(data["amount"]))

    # -- cards --

    async def register_card(self, business_id: str, customer_ref: str, return_url: str) -> CardRegistration:
        data = await self._send(
            business_id,
            f"card:{customer_ref}:{return_url}",
            "POST",
            "/v1/cards/registrations",
            {"customer_ref": customer_ref, "return_url": return_url},
        )
        return CardRegistration.from_json(data)

    async def get_card_registration(self, business_id: str, registration_id: str) -> CardRegistration:
        data = await self._get(business_id, f"/v1/cards/registrations/{registration_id}")
        if data is None:
            raise ProviderNotFound(
                N_("The payment provider does not know this object (%(code)s)."),
                params={"code": registration_id},
            )
        return CardRegistration.from_json({"registration_id": registration_id, **data})

    # -- name inquiry and payouts --

    async def name_inquiry(self, business_id: str, inquiry: NameInquiry) -> NameInquiryResult:
        payload: dict[str, Any] = {"kind": inquiry.kind}
        for name in ("bank_code", "account_number", "wallet", "phone"):
            value = getattr(inquiry, name)
            if value is not None:
                payload[name] = value
        # Each inquiry is its own purpose: an answer may change (an account closed) and must not be replayed.
        data = await self._send(business_id, f"inquiry:{new_id('inq')}", "POST", "/v1/inquiries", payload)
        return NameInquiryResult(str(data["status"]), data.get("holder_name"))

    async def submit_payout(self, business_id: str, request: PayoutRequest) -> Payout:
        payload = _payout_payload(request)

        async def resolve() -> dict[str, Any] | None:
            return _one(await self._get(business_id, "/v1/payouts", {"reference": request.reference}))

        data = await self._send(
            business_id, f"payout:{request.reference}", "POST", "/v1/payouts", payload, resolve=resolve
        )
        return Payout.from_json(data)

    async def create_payouts(
        self, business_id: str, requests: list[PayoutRequest]
    ) -> list[Payout | ProviderRefused | ProviderConflict | ProviderError]:
        """Submit several payouts in one call (`POST /v1/payouts/batch`, at most `MAX_PAYOUTS_PER_CALL`): one
        outcome per request, in order — the payout (submitted, completed later with its callback as a
        single one), or that item's refusal (`ProviderRefused`; `ProviderConflict` for a reference the
        provider holds with other details; `ProviderError` when its rail is offline: nothing recorded).
        Each item is idempotent by its reference at the provider, so no key is stored: sent again (a
        retry, a resumed submission) it answers the payouts already accepted, never a second one. An
        unknown outcome of the whole call raises `ProviderOutcomeUnknown`: status queries settle it."""
        if sql.in_transaction():
            raise RuntimeError("provider calls must not run inside a database transaction")
        items = [_payout_payload(request) for request in requests]
        body = _minified({"merchant_id": business_id, "payouts": items})
        data = await self._post_batch("/v1/payouts/batch", body, "payouts-batch")
        answers = data.get("payouts")
        if not isinstance(answers, list) or len(answers) != len(requests):
            raise ProviderError(
                N_("The payment provider is unavailable (%(code)s). Try again shortly."),
                params={"code": "invalid_answer", "message": ""},
            )
        results: list[Payout | ProviderRefused | ProviderConflict | ProviderError] = []
        for answer in answers:
            if isinstance(answer.get("payout"), dict):
                results.append(Payout.from_json(answer["payout"]))
                continue
            error = answer.get("error") or {}
            params = {"code": str(error.get("code", "")), "message": str(error.get("message", ""))}
            if params["code"] == "rail_offline":
                results.append(
                    ProviderError(
                        N_("The payment provider is unavailable (%(code)s). Try again shortly."),
                        params=params,
                    )
                )
                continue
            results.append(_item_refused(params))
        return results

    async def get_payout(self, business_id: str, payout_id: str) -> Payout:
        data = await self._get(business_id, f"/v1/payouts/{payout_id}")
        if data is None:
            raise ProviderNotFound(
                N_("The payment provider does not know this object (%(code)s)."), params={"code": payout_id}
            )
        return Payout.from_json(data)

    async def find_payout(self, business_id: str, reference: str) -> Payout | None:
        found = _one(await self._get(business_id, "/v1/payouts", {"reference": reference}))
        return Payout.from_json(found) if found else None

    # -- settlement --

    async def settlement_report(self, business_id: str, day: date, channel: str) -> SettlementReport:
        data = await self._get(business_id, "/v1/settlements", {"date": day.isoformat(), "channel": channel})
        data = data or {}
        lines = [
            SettlementLine(
                str(line["payin_id"]),
                str(line.get("reference", "")),
                int(line["amount"]),
                int(line.get("fee", 0)),
                int(line.get("refunded", 0)),
                int(line.get("refund_fee", 0)),
                int(line.get("net", 0)),
            )
            for line in data.get("lines", [])
        ]
        return SettlementReport(
            day,
            channel,
            lines,
            int(data.get("gross", 0)),
            int(data.get("fees", 0)),
            int(data.get("refunds", 0)),
            int(data.get("refund_fees", 0)),
            int(data.get("net", 0)),
        )

    # -- financial services --

    async def request_service(self, business_id: str, service: str) -> ServiceState:
        data = await self._send(
            business_id, f"service:{service}:{new_id('svc')}", "POST", f"/v1/services/{service}", {}
        )
        return ServiceState(service, str(data["status"]))

    async def get_service(self, business_id: str, service: str) -> ServiceState:
        data = await self._get(business_id, f"/v1/services/{service}") or {}
        return ServiceState(service, str(data.get("status", "inactive")))


def _one(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A lookup by reference may answer the object itself or a list of one (`{"data": [...]}`)."""
    if not data:
        return None
    for key in ("data", "items", "payins", "payouts"):
        items = data.get(key)
        if isinstance(items, list):
            return dict(items[0]) if items else None
    return data


def provider() -> Provider:
    """The configured provider adapter (only the sandbox exists; live needs a real adapter)."""
    config = get_settings().provider
    if config.name != "sandbox":
        raise ProviderError(
            N_("No adapter for the payment provider %(name)s is installed."), params={"name": config.name}
        )
    return SandboxProvider(config)
