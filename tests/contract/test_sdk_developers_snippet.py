"""The portal's Developers page shows a ready-to-run SDK snippet for a key: its Client-Id filled in, the
secret read from NERACA_CLIENT_SECRET (never printed on the page again), and it runs as shown."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.identity import csrf_from, make_business, signed_in_client


async def test_snippet_for_a_new_key_runs_against_the_server(
    client: Any, db: str, live_server: str, tmp_path: Path
) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    page = await client.get("/developers")
    assert 'id="sdk-snippet"' not in page.text  # no key yet, nothing to fill in
    created = await client.post(
        "/developers/keys",
        data={"name": "Shop backend", "right_accounts": "view", "_csrf_token": csrf_from(page.text)},
    )
    client_id = re.search(r"\b(ck_[A-Za-z0-9_-]+)", created.text).group(1)  # type: ignore[union-attr]
    secret = re.search(r"\b(sk_[A-Za-z0-9_-]+)", created.text).group(1)  # type: ignore[union-attr]

    listing = await client.get("/developers")
    match = re.search(r'id="sdk-snippet".*?<pre><code>(.*?)</code></pre>', listing.text, flags=re.DOTALL)
    assert match, "the Developers page shows the SDK snippet"
    code = html.unescape(match.group(1))
    assert f'client_id="{client_id}"' in code
    assert secret not in listing.text and 'os.environ["NERACA_CLIENT_SECRET"]' in code

    # The page names the server it was served from; here that is the in-process test client's host,
    # so point the snippet at the live server (which shares the database) and run it as shown.
    code = re.sub(r'base_url="[^"]*"', f'base_url="{live_server}"', code)
    script = tmp_path / "snippet.py"
    script.write_text(code)
    result = subprocess.run(  # noqa: ASYNC221 (the server runs in its own process)
        [sys.executable, str(script)],
        env={**os.environ, "NERACA_CLIENT_SECRET": secret},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Toko Maju" in result.stdout and "accounts:view" in result.stdout
