"""`staffcall demo` tells the whole story and ends with a summary."""

import subprocess
import sys


def test_demo_shows_every_step_and_a_summary(tmp_path):
    db = tmp_path / "demo.db"
    out = subprocess.run(
        [sys.executable, "-m", "broker.cli", "demo", "--plain", "--speed", "60", "--calls", "3", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    for needle in (
        "first page",
        "next colleague",
        "escalated to everyone",
        "reminder",
        "passes",
        "Anna (summer substitute) is on the way",
        "greeted by",
        "resolved by",
        "cancelled by the customer",
        "UNATTENDED",
        "customer pressed again",
        "Staff calls",
        "promise = greeted within",
        "Colleagues",
    ):
        assert needle in text, f"demo output lacks {needle!r}"
    assert db.exists()
