"""The records and refusals of a fixed set of requests (tests.unit.batch_cases) never change by
accident: each outcome's digest was recorded from the per-event pipeline that preceded the
one-pass validation. A deliberate change to the stored shape or to a message updates them:
`.venv/bin/python -m tests.unit.test_batch_golden` prints the new table."""

from __future__ import annotations

import hashlib

import pytest

from shared.ingest.service import accept
from tests.unit.batch_cases import Case, cases, outcome

DIGESTS = {
    "bench mixed": "9c3573d32010b14496c15387",
    "bench untimed keyed": "c3773a775eaccd6b1a35d94d",
    "standard": "2144b5a90d0a2c8d1eb9c1eb",
    "standard staging keyed": "fe0716224c02bdf6e76d92dc",
    "typed direct": "750ebffae13dd42750f5c80b",
    "typed multi": "acfca086a2c6e5c2574cf66a",
    "typed multi refused": "627a35e4c0a67e2dc9e28b57",
    "multi standard refused": "c77f6281624e27a0a3505b1b",
    "invalid whole": "ae4c1cbd39c7a99f04a17bb4",
    "invalid partial": "900c10d070dbed8fca10981e",
    "invalid multi partial": "b85309e743a994b2b06b8ec7",
    "one invalid": "e9fcc0b6ff6c0d77a3a7edaa",
    "size only": "deded7437284e2ca5f2f86da",
    "vogent": "d4f670611412403d04893ca0",
    "vogent partial": "5f68a03b587c37b5a6fdfe44",
    "vogent invalid": "743837a56b1e6f9f7e1d3393",
    "not an object": "81aef6097d3eaf549aa8471e",
    "no events": "63bd4a2cf618cf036b1c46c9",
    "events not a list": "a72c567e01d39fc47dede52b",
    "empty events": "0dfd72ae320757807154efc0",
    "bad environment": "625b572130f8dbf204febbe3",
    "too many": "fb0b80cd7f1af55f6ac9dc6a",
}


def digest(case: Case) -> str:
    return hashlib.sha256(outcome(accept, case).encode()).hexdigest()[:24]


@pytest.mark.parametrize("case", cases(), ids=lambda case: case[0])
def test_outcome_is_unchanged(case: Case) -> None:
    assert digest(case) == DIGESTS[case[0]]


def test_every_case_is_recorded() -> None:
    assert sorted(DIGESTS) == sorted(case[0] for case in cases())


if __name__ == "__main__":
    for case in cases():
        print(f'    "{case[0]}": "{digest(case)}",')
