"""One simulator subprocess and one callback receiver for the simulator's tests (real sockets)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.simulator import CallbackReceiver, Simulator, running_simulator


@pytest.fixture(scope="session")
def callback_receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def simulator_session(database: str, callback_receiver: CallbackReceiver) -> Iterator[Simulator]:
    with running_simulator(callback_url=callback_receiver.url) as sim:
        yield sim


@pytest.fixture
def sim(simulator_session: Simulator, callback_receiver: CallbackReceiver) -> Simulator:
    """The simulator with every rail normal and callbacks in normal mode; the receiver emptied."""
    for rail in simulator_session.control("GET", "/control/api/rails").json():
        simulator_session.control("POST", f"/control/api/rails/{rail}", {"mode": "normal"})
    simulator_session.control("POST", "/control/api/callbacks/mode", {"mode": "normal"})
    simulator_session.control("POST", "/control/api/callbacks/url", {"url": callback_receiver.url})
    callback_receiver.clear()
    return simulator_session


@pytest.fixture
def receiver(callback_receiver: CallbackReceiver) -> CallbackReceiver:
    return callback_receiver
