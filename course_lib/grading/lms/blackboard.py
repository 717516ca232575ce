"""Blackboard Learn: the Grade Center's "Assignment File Download" zip.

Every attempt of every selected student contributes its files and one receipt::

    <Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<original file name>
    <Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt

The receipt is plain text: ``Name: <Full Name> (<username>)``, ``Assignment:``,
``Date Submitted: <long date> <zone>``, ``Current Grade:``, the submission text and
comments, then ``Files:`` with an ``Original filename:`` / ``Filename:`` pair per file.
The time in the file name is the server's local time; the receipt names its zone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from course_lib.grading.lms.records import Entry, LmsError, Parsed, Skipped

ATTEMPT = re.compile(
    r"^(?P<head>[^/]+)_attempt_(?P<time>\d{4}(?:-\d{2}){5})"
    r"(?:_(?P<filename>[^/]+)|(?P<receipt>\.txt))$"
)
RECEIPT_NAME = re.compile(r"^Name:\s*(?P<name>.*?)\s*\((?P<user>[^()]+)\)\s*$", re.MULTILINE)
RECEIPT_DATE = re.compile(r"^Date Submitted:\s*(?P<date>.+?)\s*$", re.MULTILINE)
RECEIPT_FILE = re.compile(
    r"Original filename:\s*(?P<original>.+?)\s*\n\s*Filename:\s*(?P<zip>.+?)\s*$", re.MULTILINE
)
OFFSET = re.compile(r"^(?:UTC|GMT)?(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2})?$")


@dataclass
class Attempt:
    """One attempt of one student: its receipt and files."""

    head: str
    time: str
    user: str = ""
    name: str = ""
    zone: str = ""
    originals: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, str]] = field(default_factory=list)
    receipt: str = ""


def parse(names: list[str], read: Callable[[str], bytes], tz: str | None) -> Parsed:
    """Blackboard member names (and receipts, read with ``read``) to entries.

    Only each student's newest attempt with files is kept; ``tz`` (an IANA zone such
    as "America/New_York") says which zone the file-name times are in when the
    receipts do not say it plainly.
    """
    zone = _zone(tz)
    attempts, unmatched = _attempts(names, read)
    entries, ignored, notes = [], [], []
    by_user = defaultdict(list)
    for attempt in attempts.values():
        attempt.user = attempt.user or attempt.head.rsplit("_", 1)[-1]
        by_user[attempt.user].append(attempt)
    for user, tries in by_user.items():
        tries.sort(key=lambda a: a.time)
        with_files = [a for a in tries if a.files] or tries
        newest = with_files[-1]
        ignored += [Skipped(member, f"another attempt of {user}; the newest with files is "
                            f"{newest.time}", user)
                    for a in tries if a is not newest for member in _members(a)]
        if newest.receipt and not newest.files:
            unmatched.append(Skipped(newest.receipt, "attempt without files (text only?)", user))
        elif newest.receipt:
            ignored.append(Skipped(newest.receipt, "receipt (read for name and time)", user))
        when, note = _when(newest, zone)
        notes += [note] if note else []
        entries += [Entry(member=m, key=user, name=newest.name, path=newest.originals.get(m, f),
                          submitted_at=when) for m, f in newest.files]
    return Parsed(entries, unmatched, ignored, sorted(set(notes)))


def _attempts(names, read) -> tuple[dict[tuple[str, str], Attempt], list[Skipped]]:
    attempts: dict[tuple[str, str], Attempt] = {}
    unmatched = []
    for member in names:
        match = ATTEMPT.match(member)
        if not match:
            unmatched.append(Skipped(member, "name is not Blackboard's <Assignment>_<username>"
                                     "_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>"))
            continue
        attempt = attempts.setdefault((match["head"], match["time"]),
                                      Attempt(match["head"], match["time"]))
        if match["receipt"]:
            _read_receipt(attempt, member, read(member).decode("utf-8", errors="replace"))
        else:
            attempt.files.append((member, match["filename"]))
    return attempts, unmatched


def _read_receipt(attempt: Attempt, member: str, text: str) -> None:
    attempt.receipt = member
    text = text.replace("\r\n", "\n")
    name = RECEIPT_NAME.search(text)
    if name and attempt.head.endswith(f"_{name['user']}"):
        attempt.user, attempt.name = name["user"], name["name"]
    date = RECEIPT_DATE.search(text)
    attempt.zone = date["date"].split()[-1] if date else ""
    # "Filename:" is the member's name in the zip, "Original filename:" the student's.
    attempt.originals = {m["zip"]: m["original"] for m in RECEIPT_FILE.finditer(text)}


def _members(attempt: Attempt) -> list[str]:
    return [m for m, _ in attempt.files] + ([attempt.receipt] if attempt.receipt else [])


def _when(attempt: Attempt, zone) -> tuple[datetime, str]:
    """The attempt's time, with its zone when known, and a note when it is not."""
    naive = datetime.strptime(attempt.time, "%Y-%m-%d-%H-%M-%S")
    if zone is not None:
        return naive.replace(tzinfo=zone), ""
    found = _receipt_zone(attempt.zone)
    if found is not None:
        return naive.replace(tzinfo=found), ""
    return naive, (f"Blackboard times are in the server's zone ({attempt.zone or 'not named'}); "
                   "they were written without a zone, which nbgrader reads as UTC: pass the "
                   "zone (e.g. timezone='America/New_York') unless the due date is zone-less too")


def _receipt_zone(word: str):
    if word.upper() in {"UTC", "GMT", "Z"}:
        return timezone.utc
    match = OFFSET.match(word)
    if not match:
        return None
    delta = timedelta(hours=int(match["h"]), minutes=int(match["m"] or 0))
    return timezone(delta if match["sign"] == "+" else -delta)


def _zone(tz: str | None):
    if tz is None:
        return None
    try:
        return ZoneInfo(tz)
    except (ValueError, KeyError) as error:
        raise LmsError(f"timezone: expected an IANA zone name such as 'Europe/Berlin', "
                       f"got {tz!r}") from error
