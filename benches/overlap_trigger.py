#!/usr/bin/env python3
"""The SQLite no-overlap trigger's cost per insert when the unit already has many later bookings.

Run from the repository root: `python3 benches/overlap_trigger.py`. It applies the SQLite
migrations to an in-memory database twice: up to 0007 (the trigger that walked every later
booking of the unit) and up to 0008 (the one that looks at the first live booking ending after
the new start). It books 10,000 hourly bookings far ahead on one unit, then times 2,000 inserts
before them, and checks that an overlap is still refused.
"""
import pathlib
import sqlite3
import time
import uuid

MIGRATIONS = pathlib.Path(__file__).resolve().parent.parent / "migrations" / "sqlite"
H = 3_600_000
INSERT = (
    "INSERT INTO bookings (id, unit_id, resource_id, space_id, account_id, status, starts_at, ends_at, "
    "blocked_from, blocked_until, checkin_nonce, created_at, updated_at) "
    "VALUES (?, 'u', 'r', 's', 'a', 'confirmed', ?, ?, ?, ?, 'n', 0, 0)"
)


def database(upto: int) -> sqlite3.Connection:
    c = sqlite3.connect(":memory:", isolation_level=None)
    for f in sorted(MIGRATIONS.glob("*.sql")):
        if int(f.name[:4]) <= upto:
            c.executescript(f.read_text())
    c.execute("PRAGMA foreign_keys = OFF")  # the trigger is what is measured
    return c


def book(c: sqlite3.Connection, start: int, end: int) -> None:
    c.execute(INSERT, (str(uuid.uuid4()), start, end, start, end))


for upto, name in ((7, "walks every later booking (0001)"), (8, "first live booking ending after the start (0008)")):
    c = database(upto)
    c.execute("BEGIN")
    for k in range(10_000):
        book(c, (100_000 + k) * H, (100_001 + k) * H)
    c.execute("COMMIT")
    t0 = time.perf_counter()
    c.execute("BEGIN")
    for k in range(2_000):
        book(c, k * H, (k + 1) * H)
    c.execute("COMMIT")
    per_insert = (time.perf_counter() - t0) / 2_000 * 1e6
    try:
        book(c, 100_005 * H + 1, 100_006 * H)
        refused = "NOT refused"
    except sqlite3.DatabaseError as e:
        refused = f"refused ({e})"
    print(f"{name}: {per_insert:.1f} us per insert before 10,000 later bookings; an overlap is {refused}")
