"""The cyclic collector once the daemon has started (`mastod.app.steady_collector`)."""

from __future__ import annotations

import gc

from mastod.app import YOUNG_COLLECTION_THRESHOLD, steady_collector


def test_startup_objects_are_frozen_and_young_collections_spaced() -> None:
    before = gc.get_threshold()
    try:
        steady_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *before[1:])
        # what is made afterwards is still collected, cycles included
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
