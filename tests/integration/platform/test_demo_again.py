"""`neraca demo` on a database that already has the demo data prints the logins again."""

from __future__ import annotations

from portal.demo import load_demo


async def test_loading_the_demo_twice_prints_the_same_logins(db: str) -> None:
    first = await load_demo()
    again = await load_demo()
    assert first[0] == "Demo data loaded."
    assert again[0] == "Demo data is already loaded."
    assert again[1:] == first[1:]
    assert any("demo-owner" in line and "password" in line for line in again)
    assert any("API key: Client-Id" in line for line in again)
