"""Storage faults under the hub: it keeps paging, says so within 5 s, and writes what it held once it can.

Each scenario: 5 calls before the fault, 25 calls with 4 repeat presses each during it (125 messages, more
than the broker's 100 in-flight places, so a hub that held its acknowledgements would go deaf), the fault
cleared, 5 calls after.  Every part is its own process on the store's broker config.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.helpers import record, rows, wait
from tests.faults.store import FaultStore

BEFORE, DURING, AFTER, REPEATS = 5, 25, 5, 4
HEALTH_WITHIN_S = 5.0


def traffic(store: FaultStore, devices: list[str], tag: str, repeats: int = REPEATS) -> list[str]:
    """A new call from each device, then ``repeats`` repeat presses of it; the call ids."""
    calls = []
    for d in devices:
        call = f"{tag}-{d}"
        store.press(d, call)
        calls.append(call)
        for r in range(repeats):
            store.press(d, f"{call}-r{r}", new=False)
    return calls


def press_ids(store: FaultStore) -> set[str]:
    return {r["id"] for r in rows(store.db, "select id from presses")}


class Run:
    """One storage-fault scenario: the store, its traffic, and what the monitor and the log showed."""

    def __init__(self, store: FaultStore) -> None:
        self.store = store
        devices = store.extra
        self.before_devices = devices[:BEFORE]
        self.during_devices = devices[BEFORE : BEFORE + DURING]
        self.after_devices = devices[BEFORE + DURING :]
        store.on_shift("ben", "chloe")
        store.start_hub()
        self.before = traffic(store, self.before_devices, "before", repeats=0)
        assert store.wait_paged(self.before) and store.wait_recorded(self.before)

    def fault(self, inject: Callable[[], None], then: Callable[[], None] | None = None) -> None:
        """Inject the fault, make calls through it, and time the health report and the pages (``then``: what
        the service manager does meanwhile, before the calls can be paged)."""
        store = self.store
        self.mark = store.watch.mark()
        self.injected = time.monotonic()
        inject()
        self.during = traffic(store, self.during_devices, "during")
        self.fault_seen = store.health("fault", start=self.mark, timeout=30)
        assert self.fault_seen, f"hub/health never said fault; log:\n{store.hub_log()[-3000:]}"
        # "ok again" must come after the fault: the hub republishes an unchanged "ok" every minute (write_ms_*).
        self.after_fault = store.watch.snapshot().index(self.fault_seen)
        self.health_s = self.fault_seen.at - self.injected
        if then is not None:
            then()
        assert store.wait_paged(self.during, 60), f"calls not paged during the fault:\n{store.hub_log()[-3000:]}"
        self.deaf = store.deaf(self.during)
        self.alerted = bool(
            store.watch.wait_for(
                lambda m: m.topic.endswith("/page/maria") and m.json.get("kind") == "alert", 10, self.mark
            )
        )

    def after(self) -> None:
        self.late = traffic(self.store, self.after_devices, "after", repeats=0)
        assert self.store.wait_paged(self.late, 60)

    def finish(self, name: str, faults: str, note: str, presses_kept: bool = True) -> None:
        store = self.store
        every = self.before + self.during + self.late
        assert store.wait_recorded(every, 60), f"missing: {set(every) - set(store.call_ids())}"
        lost, dups, phantom = store.counts()
        missing_presses = len(store.repeats - press_ids(store))
        if presses_kept:
            assert missing_presses == 0, f"{missing_presses} repeat presses never written"
        assert (lost, dups, phantom) == (0, 0, 0)
        assert self.health_s <= HEALTH_WITHIN_S, f"hub/health said fault {self.health_s:.1f} s after the fault"
        assert self.deaf < 10, f"a call waited {self.deaf:.2f} s for its page during the fault"
        inputs = len(store.sent) + len(store.repeats)
        record(
            name,
            f"{len(every)} calls from {len(every)} kiosks + {len(store.repeats)} repeat presses; "
            f"{DURING * (1 + REPEATS)} messages during the fault",
            faults,
            inputs,
            lost,
            dups,
            f"hub/health 'fault' after {self.health_s:.1f} s; managers alerted: {'yes' if self.alerted else 'no'}; "
            + note,
            phantom=phantom,
            deaf=self.deaf,
        )


def mount_or_skip(target: Path, args: list[str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem for the database needs root (CI runs as root)")
    target.mkdir()
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a filesystem here ({done.stderr.strip()}); run as root on a VM or CI runner")


def unmount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


def fill(folder: Path) -> Path:
    """Fill the filesystem to the last byte; the file to delete to free it."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError:
            pass
    for size in (4096, 512, 1):  # the last partial blocks too
        try:
            with open(filler, "ab") as f:
                while True:
                    f.write(b"\0" * size)
                    f.flush()
        except OSError:
            continue
    return filler


@pytest.fixture
def small_disk(tmp_path: Path):
    disk = tmp_path / "disk"
    mount_or_skip(disk, ["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
    yield disk
    unmount(disk)


def test_disk_full(tmp_path, small_disk):
    store = FaultStore(tmp_path, devices=BEFORE + DURING + AFTER, db_dir=small_disk)
    try:
        run = Run(store)
        filler: list[Path] = []
        run.fault(lambda: filler.append(fill(small_disk)))
        assert "the disk is full" in run.fault_seen.json.get("problem", ""), run.fault_seen.json
        filler[0].unlink()
        assert store.health("ok", start=run.after_fault, timeout=30), "hub/health did not return to ok"
        run.after()
        run.finish(
            "disk full under the event log",
            "the database's filesystem (a 16 MB tmpfs) filled to the last byte; then space freed",
            "held records on disk once space was freed; every repeat press recorded",
        )
    finally:
        store.close()


def test_kill_9_during_disk_full(tmp_path, small_disk):
    store = FaultStore(tmp_path, devices=BEFORE + DURING + AFTER, db_dir=small_disk)
    try:
        run = Run(store)
        filler: list[Path] = []
        run.fault(lambda: filler.append(fill(small_disk)))
        store.kill_hub()
        filler[0].unlink()
        store.start_hub()
        run.after()
        recovered = rows(store.db, "select count(*) as n from events where kind = 'recovered'")[0]["n"]
        open_calls = {r["id"] for r in rows(store.db, "select id from calls where status = 'waiting'")}
        assert set(run.during) <= open_calls, "an open call was lost with the held records"
        run.finish(
            "kill -9 during disk full",
            "disk full (16 MB tmpfs), kill -9 of the hub holding records in memory, space freed, restart",
            f"{recovered} open calls adopted from their retained states ('recovered'); the held repeat presses "
            "died with the process (their count survives in the call's state)",
            presses_kept=False,
        )
    finally:
        store.close()


def test_read_only_filesystem(tmp_path):
    """The kernel refuses to remount a filesystem read-only while a file on it is open for writing, so the
    fault is made the way a store meets it: an ext4 error with ``errors=remount-ro`` (an SD card failing).
    Such a filesystem stays read-only until unmounted: the remedy is the operator's stop, fsck, mount, start."""
    image, disk = tmp_path / "disk.img", tmp_path / "disk"
    with open(image, "wb") as f:
        f.truncate(32 * 2**20)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", str(image)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("mkfs.ext4 is not available")
    mount_or_skip(disk, ["-o", "loop,errors=remount-ro", str(image)])
    source = subprocess.run(["findmnt", "-n", "-o", "SOURCE", str(disk)], capture_output=True, text=True)
    trigger = Path("/sys/fs/ext4") / Path(source.stdout.strip()).name / "trigger_fs_error"
    if not trigger.exists():
        unmount(disk)
        pytest.skip("this kernel has no ext4 trigger_fs_error")
    store = FaultStore(tmp_path, devices=BEFORE + DURING + AFTER, db_dir=disk)
    try:
        run = Run(store)
        run.fault(lambda: trigger.write_text("staffcall fault test"))
        assert "read-only" in run.fault_seen.json.get("problem", ""), run.fault_seen.json
        store.stop_hub()
        assert store.hub.returncode == 0
        unmount(disk)
        subprocess.run(["fsck.ext4", "-y", str(image)], capture_output=True)
        subprocess.run(["mount", "-o", "loop,errors=remount-ro", str(image), str(disk)], check=True)
        store.start_hub()
        run.after()
        recovered = rows(store.db, "select count(*) as n from events where kind = 'recovered'")[0]["n"]
        run.finish(
            "filesystem turned read-only",
            "ext4 error (errors=remount-ro) under the database; hub stopped, fsck, mounted again, hub started",
            f"{recovered} calls made during the fault adopted from their retained states at the restart",
            presses_kept=False,
        )
    finally:
        store.close()
        unmount(disk)


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


def test_write_lock_held_by_another_process(tmp_path):
    store = FaultStore(tmp_path, devices=BEFORE + DURING + AFTER)
    locker = None
    try:
        run = Run(store)

        def lock() -> None:
            nonlocal locker
            locker = subprocess.Popen(
                [sys.executable, "-c", LOCKER, str(store.db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            assert locker.stdout.readline().strip() == "locked"

        run.fault(lock)
        assert "locked" in run.fault_seen.json.get("problem", ""), run.fault_seen.json
        locker.communicate("\n", timeout=10)
        assert store.health("ok", start=run.after_fault, timeout=30), "hub/health did not return to ok"
        run.after()
        run.finish(
            "write lock held by another process",
            "a separate process held BEGIN EXCLUSIVE on the database; then committed",
            "held records on disk once the lock was released; every repeat press recorded",
        )
    finally:
        if locker and locker.poll() is None:
            locker.kill()
        store.close()


def test_database_deleted_while_open(tmp_path):
    store = FaultStore(tmp_path, devices=BEFORE + DURING + AFTER)
    try:
        run = Run(store)
        run.fault(lambda: store.db.unlink())
        assert wait(store.db.exists, 10), "the database file was not written back"
        assert store.health("ok", start=run.after_fault, timeout=30), "hub/health did not return to ok"
        run.after()
        kept = set(run.before) <= set(store.call_ids())
        assert kept, "the history before the deletion is gone"
        assert store.hub.poll() is None
        run.finish(
            "database file deleted while open",
            "rm of staffcall.db under the running hub",
            "the file written back from the open connection with its whole history",
        )
    finally:
        store.close()


def test_database_replaced_by_another_file(tmp_path):
    store = FaultStore(tmp_path, devices=BEFORE + DURING + AFTER)
    try:
        run = Run(store)

        def replace() -> None:
            # A backup put back over the live file (say): a copy, then a rename over the open one.
            copy = tmp_path / "backup.db"
            src, dst = sqlite3.connect(store.db), sqlite3.connect(copy)
            with dst:
                src.backup(dst)
            src.close()
            # ... not the same file: rows the live one never had (an older or another store's backup).
            with dst:
                dst.executemany(
                    "insert into rejected (ts, topic, payload, reason) values ('', 'x', ?, 'other')",
                    [("o" * 3000,) for _ in range(300)],
                )
            dst.close()
            os.replace(copy, store.db)

        def restart() -> None:  # as the service manager does
            assert store.hub.wait(30) == 3, "the hub did not exit with status 3"
            store.start_hub()

        run.fault(replace, then=restart)
        run.after()
        recovered = rows(store.db, "select count(*) as n from events where kind = 'recovered'")[0]["n"]
        assert rows(store.db, "pragma integrity_check")[0]["integrity_check"] == "ok"
        others = rows(store.db, "select count(*) as n from rejected where reason = 'other'")[0]["n"]
        assert others == 300, "the new file's own rows are gone"
        run.finish(
            "database file replaced by another file",
            "a copy renamed over the open staffcall.db; the hub exits 3 and is started again",
            f"exit status 3; {recovered} calls paged but not written adopted from their retained states; the new "
            "file's own rows kept, integrity_check ok; "
            "time deaf includes the restart",
            presses_kept=False,
        )
    finally:
        store.close()
