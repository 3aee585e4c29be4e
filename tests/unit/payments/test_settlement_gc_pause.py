"""The settlement batch's pause of the cyclic garbage collector always ends, nested or not."""

from __future__ import annotations

import gc

import pytest

from portal.domains.payments.services.settlements import _no_cyclic_gc


def test_the_pause_ends_with_the_last_batch_even_on_error() -> None:
    assert gc.isenabled()
    with _no_cyclic_gc():
        assert not gc.isenabled()
        with _no_cyclic_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer batch still runs
    assert gc.isenabled()
    with pytest.raises(RuntimeError), _no_cyclic_gc():
        raise RuntimeError("batch failed")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with _no_cyclic_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
