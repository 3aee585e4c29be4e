"""Card billing's rules (docs/billing.md): customers, billings and their cards and schedules, the
billing run, charges (void, refund)."""

from portal.domains.billing.services.billings import (
    billing_row,
    change_type,
    complete_card_registration,
    confirm_code,
    create_billing,
    delete_billing,
    delete_execute_date,
    extend_execute_dates,
    find_billing,
    get_billing,
    list_billings,
    next_dates,
    scheduled_dates,
    set_active,
    set_schedule,
    start_card_registration,
)
from portal.domains.billing.services.charges import (
    find_charge,
    get_charge,
    list_charges,
    refund_charge,
    void_charge,
)
from portal.domains.billing.services.customers import (
    create_customer,
    customer_row,
    find_customer,
    get_customer,
    list_customers,
    update_customer,
)
from portal.domains.billing.services.run import run_billing

__all__ = [
    "billing_row",
    "change_type",
    "complete_card_registration",
    "confirm_code",
    "create_billing",
    "create_customer",
    "customer_row",
    "delete_billing",
    "delete_execute_date",
    "extend_execute_dates",
    "find_billing",
    "find_charge",
    "find_customer",
    "get_billing",
    "get_charge",
    "get_customer",
    "list_billings",
    "list_charges",
    "list_customers",
    "next_dates",
    "refund_charge",
    "run_billing",
    "scheduled_dates",
    "set_active",
    "set_schedule",
    "start_card_registration",
    "update_customer",
    "void_charge",
]
