"""Python SDK for Neraca, the open-source Balance Management System.

    from neraca import Neraca

    client = Neraca()  # NERACA_CLIENT_ID, NERACA_CLIENT_SECRET, NERACA_BASE_URL
    for account in client.accounts.list(kind="division"):
        print(account.name, client.balances.retrieve(account.id).available)

See ``docs/sdk.md`` for errors, retries, idempotency, pagination, async and webhooks.
"""

from . import webhooks
from ._base_client import NOT_GIVEN, NotGiven
from ._client import AsyncNeraca, Neraca
from ._retry import RetryPolicy, backoff_delay, parse_retry_after, retry_delay
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FieldError,
    InternalServerError,
    NeracaError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WebhookVerificationError,
)
from .models import (
    Account,
    Balance,
    BankAccount,
    Beneficiary,
    Billing,
    BillingBatch,
    BillingBatchRow,
    BillingCard,
    Business,
    Charge,
    Customer,
    Hold,
    Me,
    NeracaObject,
    Page,
    Rail,
    RailList,
    RailQuote,
    RailWindow,
    StatementEntry,
    StatementPage,
    StatementPeriod,
    TopUp,
    Transfer,
    TransferGroup,
    Withdrawal,
)
from .pagination import AsyncPager, SyncPager
from .resources import Event, StatementFormat, TransferLeg, WebhookEndpoint

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "Account",
    "AsyncNeraca",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "Balance",
    "BankAccount",
    "Beneficiary",
    "Billing",
    "BillingBatch",
    "BillingBatchRow",
    "BillingCard",
    "Business",
    "Charge",
    "ConflictError",
    "Customer",
    "Event",
    "FieldError",
    "Hold",
    "InternalServerError",
    "Me",
    "Neraca",
    "NeracaError",
    "NeracaObject",
    "NotFoundError",
    "NotGiven",
    "Page",
    "PermissionDeniedError",
    "Rail",
    "RailList",
    "RailQuote",
    "RailWindow",
    "RateLimitError",
    "RetryPolicy",
    "StatementEntry",
    "StatementFormat",
    "StatementPage",
    "StatementPeriod",
    "SyncPager",
    "TopUp",
    "Transfer",
    "TransferGroup",
    "TransferLeg",
    "UnprocessableEntityError",
    "WebhookEndpoint",
    "WebhookVerificationError",
    "Withdrawal",
    "__version__",
    "backoff_delay",
    "parse_retry_after",
    "retry_delay",
    "webhooks",
]
