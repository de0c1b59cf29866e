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
        "promises kept: ",
        "Colleagues",
    ):
        assert needle in text, f"demo output lacks {needle!r}"
    assert db.exists()
    lines = text.splitlines()
    # The unattended story's reminders to everyone (one every ack_timeout_s) are counted, not repeated.
    reminders = [line for line in lines if "story-unattended" in line and "reminder" in line]
    assert len(reminders) <= 3 and any(" x" in line for line in reminders), reminders
    # The heatmap is a weekday x hour grid under a one-line title, within the log's 120 columns.
    at = next(i for i, line in enumerate(lines) if line.startswith("Calls by weekday x hour"))
    assert lines[at + 1].split()[:3] == ["00", "01", "02"] and len(lines[at + 1].split()) == 24, lines[at : at + 9]
    assert [line[:3] for line in lines[at + 2 : at + 9]] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert all(len(line) <= 120 for line in lines[at:]), lines[at:]
    # It ends with one line of staffing advice from its own calls (too few of them to advise, honestly).
    advice = [line for line in lines if line.startswith("Staffing advice: ")]
    assert len(advice) == 1 and ("too few calls to say" in advice[0] or "needed for 90%" in advice[0]), advice
