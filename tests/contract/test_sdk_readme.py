"""The SDK README's examples, run as written against the live server, so they cannot drift.

The Python blocks of `sdk/README.md` are joined in order into one script (the later sections use names
the quick start made) and run by a fresh interpreter, like a developer pasting them. Only the quick
start's placeholder credentials are replaced by a real key; the other clients read the NERACA_*
environment variables, as the README says they do.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.contract import Key

README = Path(__file__).resolve().parents[2] / "sdk" / "README.md"


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


def test_readme_placeholders_are_the_real_formats() -> None:
    text = README.read_text()
    assert 'client_id="ck_...",' in text, "Client-Ids start with ck_"
    assert 'base_url="http://127.0.0.1:8000",' in text, "`make run` serves on port 8000"


def quick_start_script(key: Key) -> str:
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 6, "the README lost its examples"
    quick = blocks[0]
    for placeholder, value in (
        ('"ck_..."', repr(key.client_id)),
        ('client_secret="..."', f"client_secret={key.secret!r}"),
        ('"http://127.0.0.1:8000"', repr(key.base_url)),
    ):
        assert placeholder in quick, placeholder
        quick = quick.replace(placeholder, value, 1)
    # `client.close()` ends the quick start; the following sections go on using `client`.
    quick = quick.replace("client.close()", "pass", 1)
    return "\n".join([quick, *blocks[1:], "client.close()", 'print("README OK")'])


async def test_readme_examples_run_against_the_server(key: Key, tmp_path: Path) -> None:
    script = tmp_path / "readme_example.py"
    script.write_text(quick_start_script(key))
    env = {
        **os.environ,
        "NERACA_CLIENT_ID": key.client_id,
        "NERACA_CLIENT_SECRET": key.secret,
        "NERACA_BASE_URL": key.base_url,
    }
    result = subprocess.run(  # noqa: ASYNC221 (the server runs in its own process)
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    out = result.stdout
    assert "README OK" in out
    assert "sandbox" in out and "paid" in out
    assert "not enough money:" in out, "the Errors example shows insufficient_funds"
    assert (tmp_path / "statement.xlsx").stat().st_size > 0
