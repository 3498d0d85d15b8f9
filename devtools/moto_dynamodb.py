"""moto's DynamoDB as `make dev` and the tests need it: atomic per request, and fast to query.

Atomic: moto applies a TransactWriteItems item by item, and undoes a cancelled one by restoring
a copy of the whole table taken when it began — erasing whatever another request thread
committed meanwhile (and readers can see half a transaction). Concurrent appends to one
conversation would lose messages locally that DynamoDB never loses, so moto's DynamoDB requests
run one at a time, in-process mocks and the threaded server alike.

Fast: moto 5.2.5 answers every Query by sorting every item of the table, then walking them all
to find one partition, then walking the partition again from its start to find a page's
ExclusiveStartKey. With the 250,000 records of `make loadtest` one records query took seconds.
`fast_queries` hands moto's own Query code only the items that can match — the partition of the
base table or of a local index (a dict lookup), the items of a global index's partition (one
walk of the table, no sort) — already in moto's order, and starting after the ExclusiveStartKey
(a bisection with moto's own ordering test), so sort order, Limit, LastEvaluatedKey,
ScanIndexForward, key conditions, filters, projections and the 1 MB page limit stay moto's
(tests/integration/test_moto_fast_queries.py compares pages with the unpatched Query). It also
makes UpdateExpressions cheaper (see _cheaper_update_expressions), writes the answers of the
data calls as plain JSON (see _plain_answers) and caches moto's server's list of its own
modules, which it read from disk on every request.

Written against one moto release (pinned in pyproject's dev extra): installing it on another
fails loudly, so an upgrade re-checks the patch first.
"""

from __future__ import annotations

import base64
import bisect
import calendar
import datetime
import json
import threading
from collections.abc import Callable
from typing import Any

MOTO_VERSION = "5.2.5"

_LOCK = threading.RLock()
_QUERY_PATCHED = "_parley_fast_query"
_PLAIN_PATCHED = "_parley_plain_answers"
_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
# Called under the lock after every DynamoDB request with (handler, status): the data folder's
# journal (devtools/durable.py) records writes in the order they were applied, and returns
# what to wait for (the journal's flush) before the answer leaves, outside the lock.
_observer: Callable[[Any, Any], Callable[[], None] | None] | None = None


def observe_writes(observer: Callable[[Any, Any], Callable[[], None] | None] | None) -> None:
    global _observer
    _observer = observer


def store_lock() -> threading.RLock:
    """The lock every DynamoDB request runs under (a snapshot holds it to see no half write)."""
    return _LOCK


def serialize_requests() -> None:
    """DynamoDB's requests one at a time, and its streams' with them (a snapshot drops stream
    records already read: a GetRecords must never see the stream half trimmed)."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        original = handler.call_action
        if not getattr(original, "serialized", False):
            handler.call_action = _serialized(original)  # type: ignore[method-assign]


def _serialized(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def call_action(self: Any) -> Any:
        with _LOCK:
            answer = original(self)
            observer = _observer
            durable = observer(self, answer[0]) if observer is not None else None
        if durable is not None:
            durable()
        return answer

    call_action.serialized = True  # type: ignore[attr-defined]
    return call_action


def fast_queries() -> None:
    """Patch moto's Table.query, UpdateExpression handling and module lookup; idempotent."""
    import moto
    from moto import backends
    from moto.dynamodb.models.table import Table

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"devtools/moto_dynamodb.py patches moto {MOTO_VERSION}'s Table.query, but moto "
            f"{moto.__version__} is installed: check the patch against it, then update "
            "MOTO_VERSION (and the pin in pyproject.toml)"
        )
    if getattr(Table.query, _QUERY_PATCHED, False):
        return
    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    Table.query = _patched_query(Table.query)  # type: ignore[method-assign]
    _cheaper_update_expressions()
    _plain_answers()


def _cheaper_update_expressions() -> None:
    """moto re-parses an UpdateExpression twice per UpdateItem and walks its syntax tree about
    ten times per validation, with a slow isinstance (abstract classes) at every node and, for
    the checks of the expression's shape, a search of the subtree at every node: the summaries'
    UpdateItem (one per conversation per ingest request) cost tens of milliseconds. Parsed trees
    are cached by expression (moto only reads them: each validation works on its own deep
    copy), the checks that depend only on the expression, its attribute names and the table's
    keys run once per combination, and the walk tests node types through a per-type cache."""
    import functools
    import importlib

    # untyped modules of moto's
    expressions: Any = importlib.import_module("moto.dynamodb.parsing.expressions")
    validators: Any = importlib.import_module("moto.dynamodb.parsing.validators")
    ast_nodes: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes")
    Node, DepthFirstTraverser = ast_nodes.Node, ast_nodes.DepthFirstTraverser

    parse = functools.lru_cache(maxsize=256)(expressions.UpdateExpressionParser.make)
    expressions.UpdateExpressionParser.make = parse

    node_types: dict[type, bool] = {}

    def is_node(node: Any) -> bool:
        kind = type(node)
        known = node_types.get(kind)
        if known is None:
            known = node_types[kind] = isinstance(node, Node)
        return known

    def processor_for(self: Any, node: Any) -> Callable[[Any], Any] | None:
        """moto's `process` choice (the first class of the map the node is an instance of)."""
        cache: dict[type, Callable[[Any], Any] | None] | None = self.__dict__.get("_parley")
        if cache is None:
            cache = self.__dict__["_parley"] = {}
        kind = type(node)
        if kind not in cache:
            cache[kind] = next(
                (f for k, f in self._processing_map().items() if isinstance(node, k)), None
            )
        return cache[kind]

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        # moto 5.2.5's DepthFirstTraverser.traverse_node_recursively, its type tests cached
        if is_node(node):
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    self.traverse_node_recursively(child_node, i)
            processor = processor_for(self, node)
            if processor is not None:
                node = processor(node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    DepthFirstTraverser.traverse_node_recursively = traverse_node_recursively

    shape_checks = (
        validators.ActionCountValidator,
        validators.OverlappingPathsValidator,
        validators.UpdateHashRangeKeyValidator,
    )
    checked: dict[tuple[int, frozenset[tuple[str, str]], tuple[str, ...]], Any] = {}
    validator_class = validators.UpdateExpressionValidator
    original_init = validator_class.__init__

    def init(self: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        self.parley_source = expression
        original_init(self, expression, *args, **kwargs)

    def validate(self: Any) -> Any:
        node = self.node_to_validate
        processors = self.processors
        if tuple(type(p) for p in processors[:3]) != shape_checks:
            raise RuntimeError("moto's UpdateExpressionValidator changed: re-check the patch")
        names = frozenset((self.expression_attribute_names or {}).items())
        key = (id(self.parley_source), names, tuple(self.table.table_key_attrs))
        if key not in checked:
            for processor in processors[:3]:  # raise, or return the node unchanged
                node = processor.traverse(node)
            if len(checked) > 4096:
                checked.clear()
            checked[key] = self.parley_source  # kept alive: its id stays its own
        for processor in processors[3:]:
            node = processor.traverse(node)
        return node

    validator_class.__init__ = init
    validator_class.validate = validate


# The data calls whose answers moto 5.2.5 builds as wire-shaped dicts: their keys are already
# the output shape's member names, so JSON of the dict is the answer moto's serializer writes.
_PLAIN_ACTIONS = frozenset(
    {
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "UpdateItem",
        "GetRecords",
        "GetShardIterator",
    }
)


def _plain_answers() -> None:
    """moto 5.2.5 serializes every answer by walking the operation's output shape, value by
    value: for a stream's GetRecords of 1,000 records, most of `make dev`'s CPU under load
    (each of the two functions fed by the records table reads every record). The data calls'
    answers are written as plain JSON instead (blobs in base64, timestamps in epoch seconds to
    the millisecond, no nulls, as moto's serializer writes them); an answer holding anything
    else, and every error, goes to moto's serializer (tests/integration/test_moto_fast_queries
    compares both)."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        original = handler.serialized
        if getattr(original, _PLAIN_PATCHED, False):
            continue

        def serialized(self: Any, result: Any, _original: Any = original) -> Any:
            plain = type(result) is ActionResult and isinstance(result.result, dict)
            if plain and self._get_action() in _PLAIN_ACTIONS:
                try:
                    body = json.dumps(_wire(result.result), separators=(",", ":"))
                except TypeError:  # a value moto's serializer must handle
                    pass
                else:
                    headers = {"Content-Type": _JSON_CONTENT_TYPE, **self.response_headers}
                    return 200, headers, body
            return _original(self, result)

        setattr(serialized, _PLAIN_PATCHED, True)
        handler.serialized = serialized  # type: ignore[method-assign,assignment]


def _wire(value: Any) -> Any:
    """A moto answer's value as JSON values; TypeError for anything else."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float:
        return value
    if kind is dict:
        return {k: _wire(v) for k, v in value.items() if v is not None}
    if kind is list:
        return [_wire(v) for v in value]
    if kind is bytes:
        return base64.b64encode(value).decode("ascii")
    if kind is datetime.datetime:  # moto's: naive UTC, truncated to the millisecond
        whole = calendar.timegm(value.timetuple())
        return whole + (value.microsecond // 1000) / 1000.0 if value.microsecond else whole
    raise TypeError(kind.__name__)


class _Candidates:
    """The table as moto's Query sees it, with only the candidate items in `all_items`."""

    def __init__(self, table: Any, items: list[Any]) -> None:
        self._table = table
        self._items = items

    def all_items(self) -> list[Any]:
        return self._items

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def _patched_query(original: Callable[..., Any]) -> Callable[..., Any]:
    def query(
        self: Any,
        hash_key: Any,
        range_comparison: str | None,
        range_objs: list[Any],
        limit: int,
        exclusive_start_key: dict[str, Any] | None,
        scan_index_forward: bool,
        projection_expressions: Any,
        index_name: str | None = None,
        consistent_read: bool = False,
        filter_expression: Any = None,
        hash_key_conditions: list[tuple[str, Any]] | None = None,
        range_key_conditions: Any = None,
        **filter_kwargs: Any,
    ) -> Any:
        def run(table: Any, start_key: dict[str, Any] | None) -> Any:
            return original(
                table,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                consistent_read,
                filter_expression,
                hash_key_conditions=hash_key_conditions,
                range_key_conditions=range_key_conditions,
                **filter_kwargs,
            )

        plan = _plan(self, index_name, hash_key, hash_key_conditions)
        if plan is None:  # anything unusual: moto's own walk
            return run(self, exclusive_start_key)
        candidates, hash_attrs, range_attrs = plan
        order = self._generate_attr_to_sort_by(hash_attrs, range_attrs)
        # moto's order, by the same values its DynamoType comparisons use (computed once).
        candidates.sort(key=lambda item: tuple(item.attrs[a].cast_value for a in order))
        if exclusive_start_key is not None:
            # moto skips every item at or before the start key in scan order: with the items
            # ascending, a prefix going forward, a suffix going backward.
            def at_or_before(item: Any) -> bool:
                return bool(
                    self._item_comes_before_dct(
                        item, exclusive_start_key, hash_attrs, range_attrs, scan_index_forward
                    )
                )

            if scan_index_forward:
                cut = bisect.bisect_left(candidates, True, key=lambda i: not at_or_before(i))
                candidates = candidates[cut:]
            else:
                cut = bisect.bisect_left(candidates, True, key=at_or_before)
                candidates = candidates[:cut]
        return run(_Candidates(self, candidates), None)

    setattr(query, _QUERY_PATCHED, True)
    query.__wrapped__ = original  # type: ignore[attr-defined]  # the tests compare with it
    return query


def _plan(
    table: Any,
    index_name: str | None,
    hash_key: Any,
    hash_key_conditions: list[tuple[str, Any]] | None,
) -> tuple[list[Any], list[str], list[str | None]] | None:
    """(candidate items, moto's hash attributes, moto's range attributes), or None to let moto
    walk the table. Candidates are a superset of what moto's Query keeps: it still checks
    every key condition itself."""
    from moto.dynamodb.models.table import GlobalSecondaryIndex

    if hash_key is None:
        return None
    if not index_name:
        if not table.range_key_attr:
            item = table.items.get(hash_key)
            return ([item] if item is not None else []), [table.hash_key_attr], [None]
        partition = table.items.get(hash_key, {})
        return list(partition.values()), [table.hash_key_attr], [table.range_key_attr]
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None or not hash_key_conditions:
        return None  # moto's own error for an unknown index
    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
    # The attributes moto sorts an index by (Table.query, 5.2.5).
    hash_attrs = [*hashes, table.hash_key_attr]
    range_attrs: list[str | None]
    if ranges:
        range_attrs = [*ranges, table.range_key_attr]
    elif isinstance(index, GlobalSecondaryIndex) and table.range_key_attr:
        range_attrs = [table.range_key_attr, table.range_key_attr]
    else:
        range_attrs = [table.hash_key_attr, table.range_key_attr]
    name, value = hash_key_conditions[0]
    if not isinstance(index, GlobalSecondaryIndex) and name == table.hash_key_attr:
        if table.range_key_attr:
            items = list(table.items.get(value, {}).values())
        else:
            item = table.items.get(value)
            items = [item] if item is not None else []
    else:
        items = [i for i in _all(table) if _equal(i.attrs.get(name), value)]
    # moto leaves out the items without every range key of the index: so do the candidates,
    # which makes every sort attribute present.
    items = [i for i in items if all(i.attrs.get(r) for r in ranges)]
    return items, hash_attrs, range_attrs


def _all(table: Any) -> list[Any]:
    if not table.range_key_attr:
        return list(table.items.values())
    return [item for partition in table.items.values() for item in partition.values()]


def _equal(stored: Any, wanted: Any) -> bool:
    if stored is None:
        return False
    if stored.type == "S" == wanted.type:
        return bool(stored.value == wanted.value)  # the common case, without cast_value
    return bool(stored == wanted)
