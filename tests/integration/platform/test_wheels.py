"""The portal runs when installed from its wheels, not only from a checkout.

Both wheels (the portal and the SDK) are built from this checkout and installed into a fresh virtual
environment in a temporary directory; `neraca serve` runs from there (working directory outside the
checkout) against the test PostgreSQL and must render pages, static files and the Indonesian catalog.

Offline and quick: the wheels are built without build isolation (hatchling from the test environment);
dependencies come from a wheelhouse in `.neraca/wheelhouse` (`--no-index`), filled from pip's cache the
first time or whenever a dependency changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import free_port

CHECKOUT = Path(__file__).resolve().parents[3]
WHEELHOUSE = CHECKOUT / ".neraca" / "wheelhouse"


def _pip(python: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _checked(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def build_wheels(out: Path) -> list[Path]:
    """The portal's and the SDK's wheels, built the way `pip install .` builds them."""
    _checked(_pip(sys.executable, "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), ".", "./sdk"))
    return sorted(out.glob("*.whl"))


def install(venv: Path, wheels: list[Path]) -> None:
    """Installs the wheels and their dependencies offline from the wheelhouse (filled when it lacks one)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    offline = ["install", "--no-index", "--find-links", str(WHEELHOUSE), *map(str, wheels)]
    if _pip(python, *offline).returncode != 0:
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        # pip takes a wheel already in the wheelhouse for the one given, with that copy's dependencies: a
        # portal wheel left by an earlier run would hide a dependency added since.
        for stale in WHEELHOUSE.glob("neraca*.whl"):
            stale.unlink()
        _checked(_pip(sys.executable, "wheel", "-w", str(WHEELHOUSE), *map(str, wheels)))
        _checked(_pip(python, *offline))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("installed")
    wheels = build_wheels(root / "dist")
    assert [wheel.name.split("-")[0] for wheel in wheels] == ["neraca", "neraca_portal"], wheels
    install(root / "venv", wheels)
    return root / "venv"


@pytest.fixture(scope="module")
def served(installed: Path, database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from portal.db.bootstrap import RESOLVED_ENV

    workdir = tmp_path_factory.mktemp("served")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV", "NERACA_DATA_DIR", RESOLVED_ENV}
    }
    env.update(
        {
            "DATABASE_URL": os.environ[RESOLVED_ENV],
            "NERACA_PORT": str(port),
            "NERACA_BASE_URL": base_url,
            "NERACA_WORKER_IN_PROCESS": "0",
            "PATH": f"{installed / 'bin'}:{env.get('PATH', '')}",
        }
    )
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(installed / "bin" / "neraca"), "serve", "--no-migrate"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"neraca serve exited:\n{log_path.read_text()[-4000:]}")
                try:
                    if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"neraca serve did not start:\n{log_path.read_text()[-4000:]}")
                time.sleep(0.2)
            yield base_url
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_the_installed_package_is_not_the_checkout(installed: Path) -> None:
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import portal, neraca; print(portal.__file__)"],
        capture_output=True,
        text=True,
        cwd=installed,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert where.startswith(str(installed)), where
    assert not where.startswith(str(CHECKOUT)), where


def test_login_page_renders(served: str) -> None:
    response = httpx.get(f"{served}/login", timeout=30)
    assert response.status_code == 200, response.text[:2000]
    assert "<form" in response.text


def test_static_file_is_served(served: str) -> None:
    response = httpx.get(f"{served}/static/css/neraca.css", timeout=30)
    assert response.status_code == 200
    assert response.content == (CHECKOUT / "static" / "css" / "neraca.css").read_bytes()


def test_indonesian_page_uses_the_compiled_catalog(served: str) -> None:
    response = httpx.get(f"{served}/login", headers={"Accept-Language": "id"}, timeout=30)
    assert response.status_code == 200
    assert 'lang="id"' in response.text
    assert "Masuk" in response.text
