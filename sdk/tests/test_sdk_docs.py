"""The code in sdk/README.md and docs/sdk.md type-checks against the SDK (names, arguments, results)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parents[1]
DOCS = [SDK / "README.md", SDK.parent / "docs" / "sdk.md"]  # the SDK's README and the portal's SDK guide

# Blocks that use a client made in an earlier block get one of their own.
PRELUDE = """\
from neraca import Account, Neraca

client = Neraca()
main: Account = client.accounts.retrieve("acc_main")
marketing: Account = client.accounts.retrieve("acc_marketing")
"""


def python_blocks(doc: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)


def standalone(block: str) -> str:
    defines_client = "client = " in block or "as client" in block
    return block if defines_client or "client." not in block else PRELUDE + block


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_documentation_examples_type_check(doc: Path, tmp_path: Path) -> None:
    mypy_api = pytest.importorskip("mypy.api")
    blocks = python_blocks(doc)
    assert len(blocks) >= 5, f"{doc} lost its examples"
    files = []
    for n, block in enumerate(blocks):
        path = tmp_path / f"example_{n}.py"
        path.write_text(standalone(block))
        compile(path.read_text(), str(path), "exec")
        files.append(str(path))
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")
    options = [
        "--strict",
        "--no-incremental",
        "--cache-dir",
        str(tmp_path / ".mypy"),
        "--config-file",
        str(config),
    ]
    stdout, stderr, status = mypy_api.run([*options, *files])
    assert status == 0, stdout + stderr
