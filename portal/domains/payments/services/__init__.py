"""The payments service: payments received, split settlement, settlement batches, refunds.

Everything callers use is re-exported here (`from portal.domains.payments import services`).
"""

from portal.domains.payments.schemas import Payment, Refund
from portal.domains.payments.services.card_batch import charge_cards
from portal.domains.payments.services.dashboard import PaymentsSummary, summary
from portal.domains.payments.services.deductions import list_deductions, take_overdue_deductions
from portal.domains.payments.services.payments import (
    CHANNELS,
    STATUSES,
    PaymentRequest,
    book_payment,
    create_payment,
    expire_due_payments,
    find_payment,
    get_payment,
    list_payments,
    mark_unpaid,
    payment_out,
    simulate_payment,
    visible_row,
)
from portal.domains.payments.services.refunds import list_refunds, refund_payment
from portal.domains.payments.services.settings import (
    get_settings,
    refresh_split_service,
    request_split_service,
    update_settings,
)
from portal.domains.payments.services.settlements import (
    apply_batch,
    apply_due,
    apply_now,
    check_split_payouts,
    create_batches,
    find_settlement,
    get_settlement,
    list_settlements,
    pay_split_part,
    settle,
    today_wib,
)
from portal.domains.payments.services.splits import (
    INVALID_BANK_REMARK,
    create_rule,
    delete_rule,
    find_rule,
    get_rule,
    list_rules,
    preview,
    update_payment_split,
    update_rule,
)

__all__ = [
    "CHANNELS",
    "INVALID_BANK_REMARK",
    "STATUSES",
    "Payment",
    "PaymentRequest",
    "PaymentsSummary",
    "Refund",
    "apply_batch",
    "apply_due",
    "apply_now",
    "book_payment",
    "charge_cards",
    "check_split_payouts",
    "create_batches",
    "create_payment",
    "create_rule",
    "delete_rule",
    "expire_due_payments",
    "find_payment",
    "find_rule",
    "find_settlement",
    "get_payment",
    "get_rule",
    "get_settings",
    "get_settlement",
    "list_deductions",
    "list_payments",
    "list_refunds",
    "list_rules",
    "list_settlements",
    "mark_unpaid",
    "pay_split_part",
    "payment_out",
    "preview",
    "refresh_split_service",
    "refund_payment",
    "request_split_service",
    "settle",
    "simulate_payment",
    "summary",
    "take_overdue_deductions",
    "today_wib",
    "update_payment_split",
    "update_rule",
    "update_settings",
    "visible_row",
]
