"""Annotated field types shared by the API schemas: the OpenAPI document shows their description and
an example for each field (the same ids and values docs/api-contract.md uses)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

AccountId = Annotated[
    str, msgspec.Meta(description="an account id", examples=["acc_01jd8k2m4n6p8r0s2t4v6w8y0z"])
]
ParentId = Annotated[
    str,
    msgspec.Meta(description="the account this one sits under", examples=["acc_01jd8k0main0000000000000000"]),
]
TransferId = Annotated[
    str, msgspec.Meta(description="a transfer id", examples=["trf_01jd8m3q5s7u9w1y3a5c7e9g1j"])
]
Reference = Annotated[
    str,
    msgspec.Meta(
        description="your reference (1-100 characters), unique per business forever",
        examples=["INV-2026-11-0042"],
    ),
]
Description = Annotated[
    str, msgspec.Meta(description="free text shown on statements", examples=["November commission"])
]
Currency = Annotated[str, msgspec.Meta(description="ISO 4217: IDR, USD or SGD", examples=["IDR"])]
Name = Annotated[str, msgspec.Meta(description="a display name", examples=["Jakarta"])]
Email = Annotated[str, msgspec.Meta(description="contact e-mail", examples=["finance@tokosinarjaya.co.id"])]
Phone = Annotated[str, msgspec.Meta(description="mobile number, stored E.164", examples=["+6281234567890"])]
Timestamp = Annotated[
    datetime, msgspec.Meta(description="ISO 8601 with offset", examples=["2026-11-22T04:00:00Z"])
]
MinorUnits = Annotated[int, msgspec.Meta(description="integer, minor units", examples=[150000])]
BankCode = Annotated[
    str, msgspec.Meta(description="bank code from the Indonesian bank list", examples=["014"])
]
BankAccountNumber = Annotated[str, msgspec.Meta(description="bank account number", examples=["1234567890"])]
HolderName = Annotated[str, msgspec.Meta(description="account holder's name", examples=["PT Sinar Jaya"])]
