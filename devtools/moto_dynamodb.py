"""moto's DynamoDB made atomic per request, as DynamoDB is (the local server and the tests).

moto applies a TransactWriteItems item by item, and undoes a cancelled one by restoring a copy
of the whole table taken when it began — erasing whatever another request thread committed
meanwhile (and readers can see half a transaction). Concurrent appends to one conversation
would lose messages locally that DynamoDB never loses, so moto's DynamoDB requests run one at a
time, in-process mocks and the threaded server alike.
"""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.RLock()


def serialize_requests() -> None:
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "serialized", False):
        return

    def call_action(self: Any) -> Any:
        with _LOCK:
            return original(self)

    call_action.serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
