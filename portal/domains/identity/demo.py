"""Demo data (ORDER 10): a sandbox business with four people and one API key, all with fixed, published
credentials so a newcomer can sign in with any authenticator app. Demo data only — never production."""

from __future__ import annotations

from typing import Any

from portal.domains.identity import services
from portal.lib import security, sql
from portal.lib.actor import system_actor

ORDER = 10

BUSINESS_NAME = "Demo Nusantara"
# (username, full name, role, password, base32 TOTP secret)
DEMO_USERS = [
    ("demo-owner", "Dewi Owner", "owner", "demo owner password 1", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
    (
        "demo-finance",
        "Fajar Finance",
        "finance",
        "demo finance password 2",
        "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",
    ),
    (
        "demo-division",
        "Dian Division",
        "division_manager",
        "demo division password 3",
        "MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK",
    ),
    (
        "demo-partner",
        "Putra Partner",
        "partner",
        "demo partner password 4",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    ),
]
API_CLIENT_ID = "ck_demo_nusantara"
API_SECRET = "sk_demo_nusantara_0123456789abcdefghijklmnop"  # noqa: S105 - published demo key


async def load(state: dict[str, Any]) -> None:
    owner_username, owner_name, _, _, _ = DEMO_USERS[0]
    business, owner, _link = await services.create_business(
        name=BUSINESS_NAME,
        owner_username=owner_username,
        owner_email=f"{owner_username}@demo.neraca.local",
        owner_full_name=owner_name,
        mode="sandbox",
    )
    system = system_actor(business.id)
    ids = {owner_username: owner.id}
    for username, full_name, role, _password, _secret in DEMO_USERS[1:]:
        user = await services.create_user(
            system, username=username, full_name=full_name, email=f"{username}@demo.neraca.local", role=role
        )
        ids[username] = user.id
    for username, _full_name, _role, password, secret in DEMO_USERS:
        await sql.execute(
            "UPDATE app_user SET password_hash = $2, totp_secret = $3, totp_confirmed = true WHERE id = $1",
            ids[username],
            await security.hash_password(password),
            secret,
        )
        await sql.execute("UPDATE user_token SET used_at = now() WHERE user_id = $1", ids[username])
    # Sent mail would only announce links the demo has already used.
    await sql.execute("UPDATE email_outbox SET status = 'outbox' WHERE business_id = $1", business.id)
    key, secret = await services.create_api_key(
        system,
        name="Demo key",
        permissions=frozenset(
            f"{menu}:manage"
            for menu in (
                "accounts",
                "transfers",
                "payments",
                "splits",
                "billing",
                "payouts",
                "invoices",
                "monitoring",
            )
        )
        | frozenset({"reports:view"}),
        secret=API_SECRET,
        client_id=API_CLIENT_ID,
    )
    state.update(
        business_id=business.id,
        owner_user_id=owner.id,
        api_client_id=key.client_id,
        api_secret=secret,
        user_ids=ids,
    )
    lines = state.setdefault("lines", [])
    lines.append(f"Business {BUSINESS_NAME} ({business.id}), sandbox. Sign in at /login:")
    for username, _full_name, role, password, totp in DEMO_USERS:
        lines.append(f"  {role:<17} username {username:<14} password {password!r:<28} TOTP secret {totp}")
    lines.append(f"  API key: Client-Id {API_CLIENT_ID}  secret {API_SECRET}")
