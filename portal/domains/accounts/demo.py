"""Demo data (ORDER 20): the demo business's account tree — main account, divisions Jakarta and Bandung
with branches, a few partners with settlement banks — and the scoped users' subtrees."""

from __future__ import annotations

from typing import Any

from portal.domains.accounts import services
from portal.lib.actor import system_actor

ORDER = 20

# (name, kind, parent name, reference, settlement bank (code, number, holder) or None)
TREE = [
    ("Jakarta", "division", None, "DIV-JKT", ("014", "5270001234", "PT Demo Nusantara Jakarta")),
    ("Jakarta Selatan", "division", "Jakarta", "BR-JKS", None),
    ("Jakarta Barat", "division", "Jakarta", "BR-JKB", None),
    ("Bandung", "division", None, "DIV-BDG", ("008", "1300012345678", "PT Demo Nusantara Bandung")),
    ("Dago", "division", "Bandung", "BR-DGO", None),
    ("Buah Batu", "division", "Bandung", "BR-BBT", None),
    ("Toko Sinar Jaya", "partner", None, "PTN-001", ("002", "034101000123507", "Sinar Jaya")),
    ("CV Maju Bersama", "partner", None, "PTN-002", ("009", "0123456789", "CV Maju Bersama")),
    ("Warung Bu Sri", "partner", "Jakarta Selatan", "PTN-003", ("451", "7123456789", "Sri Wahyuni")),
    ("Kopi Kenangan Dago", "partner", "Dago", "PTN-004", None),
]


async def load(state: dict[str, Any]) -> None:
    business_id = state["business_id"]
    actor = system_actor(business_id)
    main = await services.ensure_business_accounts(business_id, "Demo Nusantara")
    ids: dict[str, str] = {"main": main}
    for name, kind, parent, reference, bank in TREE:
        row = await services.create_account(
            actor,
            name=name,
            kind=kind,
            parent_id=ids[parent] if parent else main,
            reference=reference,
            email=f"{reference.lower()}@demo.neraca.local",
        )
        ids[name] = row.id
        if bank:
            await services.update_account(
                actor,
                row.id,
                {
                    "settlement_bank": {
                        "bank_code": bank[0],
                        "account_number": bank[1],
                        "holder_name": bank[2],
                    }
                },
            )
    state["account_ids"] = ids
    from portal.domains.identity.services import set_user_scope

    await set_user_scope(business_id, "demo-division", ids["Jakarta"])
    await set_user_scope(business_id, "demo-partner", ids["Toko Sinar Jaya"])
    state.setdefault("lines", []).append(
        "  demo-division sees the Jakarta division; demo-partner sees Toko Sinar Jaya."
    )
