"""Statements from a streaming replica (`DATABASE_REPLICA_URL`), bounded in staleness, falling back to the
primary: a primary and a `pg_basebackup` replica from the embedded server's binaries, one web node
(`neraca serve`), and the SDK over real HTTP on 127.0.0.1."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from neraca import Neraca

from deploy.cluster import Cluster, scratch_dir, seed

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with scratch_dir("neraca-replica-") as root:
        running = Cluster(root=root, bin_dir=BIN, web_nodes=1, workers=0, proxy=False)
        try:
            running.start_database()
            running.start_nodes()
            yield running
        finally:
            running.down()


@pytest.fixture(scope="module")
def books(cluster: Cluster) -> dict[str, object]:
    return seed(cluster.node_env(None), BIN, accounts=2, keys=1)


def _reads(cluster: Cluster, source: str) -> float:
    port = cluster.web_ports()[0]
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    match = re.search(rf'neraca_report_reads_total{{source="{source}"}} ([0-9.]+)', text)
    return float(match.group(1)) if match else 0.0


def _client(cluster: Cluster, books: dict[str, object]) -> Neraca:
    key = books["keys"][0]  # type: ignore[index]
    return Neraca(
        client_id=key["client_id"],
        client_secret=key["secret"],
        base_url=f"http://127.0.0.1:{cluster.web_ports()[0]}",
    )


def _transfer_then_statement(client: Neraca, books: dict[str, object]) -> tuple[str, list[str]]:
    payer, payee = books["accounts"]  # type: ignore[misc]
    reference = f"replica-{uuid.uuid4().hex[:12]}"
    client.transfers.create(from_account_id=payer, to_account_id=payee, amount=5_000, reference=reference)
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    page = client.statements.retrieve(account_id=payee, start=today, end=today, limit=100)
    return reference, [entry.reference or "" for entry in page.data]


def test_a_statement_read_from_the_replica_includes_the_transfer_just_made(
    cluster: Cluster, books: dict[str, object]
) -> None:
    before = _reads(cluster, "replica")
    with _client(cluster, books) as client:
        for _ in range(3):
            reference, seen = _transfer_then_statement(client, books)
            assert reference in seen
    assert _reads(cluster, "replica") == before + 3


def test_with_the_replica_down_statements_come_from_the_primary(
    cluster: Cluster, books: dict[str, object]
) -> None:
    assert cluster.standby is not None
    cluster.standby.stop()
    try:
        before = _reads(cluster, "primary")
        with _client(cluster, books) as client:
            reference, seen = _transfer_then_statement(client, books)
        assert reference in seen
        assert _reads(cluster, "primary") == before + 1
    finally:
        cluster.standby.start()
