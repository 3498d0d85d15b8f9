"""shared.coldstart.loading: the collector paused while a function's modules load, then what
they built frozen, and the collector running again."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.coldstart import loading


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_paused_inside_and_running_after() -> None:
    gc.enable()
    with loading():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_what_loaded_is_frozen() -> None:
    gc.enable()
    gc.unfreeze()
    with loading():
        built = [[] for _ in range(1000)]
    assert gc.get_freeze_count() >= len(built)


def test_nested_the_outer_one_resumes_collection() -> None:
    gc.enable()
    with loading():
        with loading():
            pass
        assert not gc.isenabled()  # the inner one left it to the outer
    assert gc.isenabled()


def test_a_caller_that_paused_the_collector_keeps_it_paused() -> None:
    gc.disable()
    with loading():
        pass
    assert not gc.isenabled()


def test_a_failing_import_still_resumes_collection() -> None:
    gc.enable()
    with pytest.raises(ImportError), loading():
        raise ImportError("no such module")
    assert gc.isenabled()
