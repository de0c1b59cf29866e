"""PIN hashes: salted scrypt, verified in constant time, the CLI helper prints one."""

import subprocess
import sys

from broker.contract.pins import hash_pin, verify_pin


def test_hash_and_verify():
    h = hash_pin("4711")
    assert h.startswith("scrypt$") and "4711" not in h
    assert verify_pin("4711", h) and not verify_pin("4712", h)
    assert hash_pin("4711") != h  # salted
    assert not verify_pin("4711", "garbage") and not verify_pin("4711", "scrypt$x$y$z$00$00")


def test_hash_pin_command():
    out = subprocess.run(
        [sys.executable, "-m", "broker.cli", "hash-pin"], input="2468\n", capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert verify_pin("2468", out.stdout.strip())
    bad = subprocess.run(
        [sys.executable, "-m", "broker.cli", "hash-pin"], input="12\n", capture_output=True, text=True, timeout=30
    )
    assert bad.returncode == 2 and "4 to 12 digits" in bad.stderr
