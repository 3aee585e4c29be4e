"""Payouts against the sandbox provider over real sockets: Neraca served in this event loop with the job
worker beside it (package scope), the simulator's callbacks pointed at it."""

from tests.integration.provider.conftest import harness, neraca_server

__all__ = ["harness", "neraca_server"]
