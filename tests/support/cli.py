"""Running the installed `neraca` command in a subprocess (optionally as another user)."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path
from typing import Any

NERACA = str(Path(sys.executable).parent / "neraca")


def run_neraca(
    *args: str, env: dict[str, str] | None = None, user: str | None = None, timeout: int = 120
) -> Any:
    command = [NERACA, *args]
    if user is not None:
        command = [
            "setpriv",
            f"--reuid={user}",
            f"--regid={pwd.getpwnam(user).pw_gid}",
            "--clear-groups",
            *command,
        ]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("NERACA_RESOLVED_DATABASE_URL", None)
    return subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=timeout, check=False)
