"""``staffcall chain ingest`` with a pause at one exact step, for the kill -9 test (never in the product).

``STAFFCALL_TEST_PAUSE=before_commit:N``: at the N-th flush, after the batch's files are renamed into
place and before the index commits; ``after_commit:N``: after the commit, before the messages are
acknowledged.  At the pause it creates ``STAFFCALL_TEST_MARK`` and sleeps, so the test kills it there.

Run as ``python -m tests.chain.ingest_hooked chain ingest ...`` (the ``staffcall`` arguments).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from broker.chain import ingest
from broker.cli import main

where, _, nth = os.environ["STAFFCALL_TEST_PAUSE"].partition(":")
mark = Path(os.environ["STAFFCALL_TEST_MARK"])
seen = {"n": 0}


def pause() -> None:
    mark.write_text(where)
    time.sleep(3600)


if where == "before_commit":
    place = ingest.Writer._place

    def _place(self, files):  # type: ignore[no-untyped-def]
        place(self, files)
        seen["n"] += 1
        if seen["n"] == int(nth):
            pause()

    ingest.Writer._place = _place  # type: ignore[method-assign]
else:
    write = ingest.Writer.write

    def _write(self, records):  # type: ignore[no-untyped-def]
        new = write(self, records)
        seen["n"] += 1
        if seen["n"] == int(nth):
            pause()
        return new

    ingest.Writer.write = _write  # type: ignore[method-assign]

sys.argv = ["staffcall", *sys.argv[1:]]
sys.exit(main())
