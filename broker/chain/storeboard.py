"""What the chain board shows, with no I/O: each store's last status and when the board heard it.

Offline is timed by the board's own monotonic clock (``now`` passed in): a store whose last
status arrived more than ``offline_after_s`` ago is offline, whatever its status's ``at`` says
(a store's clock may be wrong; the board's is the one on the wall).  A status replayed from the
stream when the board starts is dated back by its age in the stream (``age_s``), so a store
silent for an hour is offline at once, not two minutes later.  Sorted worst first: offline,
then the longest wait now, then the most open calls; grouped by region.

Example::

    >>> from broker.contract.chain import StoreStatus
    >>> b = StoreBoard(offline_after_s=120)
    >>> b.apply(StoreStatus(store="s1", region="north", at="", open_calls=2, longest_wait_s=40), now=0.0)
    True
    >>> b.apply(StoreStatus(store="s2", region="north", at="", open_calls=1, longest_wait_s=90), now=100.0)
    True
    >>> [(s["store"], s["offline"]) for s in b.view(now=130.0)["regions"][0]["stores"]]
    [('s1', True), ('s2', False)]
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from broker.contract.chain import OFFLINE_AFTER_S, StoreStatus


@dataclass
class Seen:
    status: StoreStatus
    heard: float
    """The board's monotonic time when the status was (or, replayed, would have been) heard."""


class StoreBoard:
    """The latest status of every store; ``apply`` from the cluster's subscription, ``view`` for the page."""

    def __init__(self, offline_after_s: float = OFFLINE_AFTER_S) -> None:
        self.offline_after_s = offline_after_s
        self.stores: dict[str, Seen] = {}
        self.rejected = 0
        self._lock = threading.Lock()

    def apply(self, status: StoreStatus, now: float, age_s: float = 0.0) -> bool:
        """Keep ``status`` heard ``age_s`` before ``now``; False (ignored) when older than what the board has."""
        heard = now - max(0.0, age_s)
        with self._lock:
            seen = self.stores.get(status.store)
            if seen is not None and seen.heard > heard:
                return False
            self.stores[status.store] = Seen(status, heard)
        return True

    def reject(self) -> None:
        with self._lock:
            self.rejected += 1

    def offline(self, now: float) -> frozenset[str]:
        with self._lock:
            return frozenset(s for s, seen in self.stores.items() if now - seen.heard > self.offline_after_s)

    def view(self, now: float) -> dict[str, Any]:
        """The page's data: regions (worst first) with their stores (worst first), and the chain's counts."""
        with self._lock:
            seen = list(self.stores.values())
        rows = []
        for s in seen:
            st = s.status
            silent = max(0.0, now - s.heard)
            offline = silent > self.offline_after_s
            rows.append(
                {
                    "store": st.store,
                    "name": st.name or st.store,
                    "region": st.region,
                    "offline": offline,
                    "silent_s": round(silent),
                    "open_calls": st.open_calls,
                    "longest_wait_s": round(st.longest_wait_s),
                    "promise_share_today": st.promise_share_today,
                    "calls_today": st.calls_today,
                    "devices_online": st.devices_online,
                    "devices_total": st.devices_total,
                }
            )
        rows.sort(key=lambda r: (not r["offline"], -r["longest_wait_s"], -r["open_calls"], r["store"]))
        regions: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            regions.setdefault(r["region"], []).append(r)
        ordered = sorted(regions.items(), key=lambda kv: (not kv[1][0]["offline"], -kv[1][0]["longest_wait_s"], kv[0]))
        return {
            "stores": len(rows),
            "offline": sum(r["offline"] for r in rows),
            "open_calls": sum(r["open_calls"] for r in rows),
            "rejected": self.rejected,
            "regions": [{"region": name, "stores": stores} for name, stores in ordered],
        }
