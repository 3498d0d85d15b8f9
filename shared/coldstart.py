"""What a function's module does while it loads: import everything with the garbage collector
paused, then freeze what was built.

A cold start's imports (botocore, pydantic, Starlette, Mangum and asyncio, the models) build
objects that live as long as the process. With the collector running, every few hundred new
objects it rescans the ones already there, again and again as they pile up; paused while they
load and then frozen out of its reach (`gc.freeze`), they are never scanned at all. Collection
resumes afterwards as usual, for what requests allocate.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading() -> Iterator[None]:
    """`with loading(): import ...`: the collector paused inside, everything that exists at the
    end frozen, and the collector running again. Nested (or inside a caller that paused the
    collector itself), it leaves both to the outer one."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
