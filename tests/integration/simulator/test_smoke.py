from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.support.simulator import Simulator


def test_va_payin_created(sim: Simulator) -> None:
    body = {
        "merchant_id": "biz_smoke",
        "reference": f"ref-{uuid.uuid4().hex[:10]}",
        "channel": "virtual_account",
        "bank_code": "014",
        "amount": 150_000,
        "currency": "IDR",
        "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "customer_name": "Budi",
    }
    answer = sim.call("POST", "/v1/payins", body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["va_number"].startswith("39358")
