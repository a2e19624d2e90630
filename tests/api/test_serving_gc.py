"""The serving process tunes the garbage collector from the settings (core/config.py gc_thresholds)."""

import gc

from fastapi.testclient import TestClient

from nlp_service.api.app import create_app
from nlp_service.live.services import Services


def test_serving_sets_the_gc_thresholds(rclient, svc_settings) -> None:
    before = gc.get_threshold()
    settings = svc_settings.model_copy(update={"gc_thresholds": (4321, 17, 99)})
    svc = Services.start(settings, rclient, poll=False)
    try:
        with TestClient(create_app(settings, svc)):
            assert gc.get_threshold() == (4321, 17, 99)
    finally:
        svc.close()
        gc.set_threshold(*before)
        gc.unfreeze()  # the app froze this test process's objects: give them back to the collector
