"""Debian's SpamAssassin, run locally (no network tests) on a message as a mailbox gets it.

``spam_score(raw, ehlo_name=...)`` puts the ``Received`` line a receiving server would
add in front of the message and returns SpamAssassin's score and the rules that fired.
Skips the test when ``spamassassin`` is missing, unless ``CI`` is set (then it fails).
``named_machine`` names this machine ``MACHINE`` for a test, as a sender should be named.
Imports the standard library, pytest and the email channel (for its cached host name).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

#: The sending machine as the receiving server sees it: a public address (not one of the
#: reserved ranges, which SpamAssassin scores as RCVD_ILLEGAL_IP) and its reverse DNS.
SENDER_IP = "51.15.20.25"
#: A fully qualified name for this machine, as a well-set sender has (``named_machine``).
MACHINE = "batch-07.example.com"


@pytest.fixture
def named_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This machine is ``MACHINE`` while the test runs: the email channel says so in EHLO."""
    from processes.channels import email

    monkeypatch.setattr(socket, "gethostname", lambda: MACHINE)
    email._machine_name.cache_clear()
    yield
    email._machine_name.cache_clear()


@dataclass(frozen=True)
class Verdict:
    score: float
    rules: tuple[str, ...]
    report: str


def spamassassin_path() -> str:
    found = shutil.which("spamassassin")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("spamassassin is missing: .ci/run installs it with apt")
        pytest.skip("spamassassin is not installed (apt-get install spamassassin)")
    return found


def spam_score(raw: bytes, *, ehlo_name: str, reverse_dns: str) -> Verdict:
    """Score ``raw`` as received from ``ehlo_name`` at ``SENDER_IP`` named ``reverse_dns``."""
    received = (
        f"Received: from {ehlo_name} ({reverse_dns} [{SENDER_IP}])\r\n"
        f"\tby mx.example.com (Postfix) with ESMTPS id 4QxAbC7;\r\n"
        f"\t{format_datetime(datetime.now(UTC))}\r\n"
    ).encode("ascii")
    with tempfile.TemporaryDirectory() as home:
        # -L: local tests only (no DNS or network); -x: no user configuration; no Bayes,
        # whose database would be written into the home folder.
        done = subprocess.run(
            [spamassassin_path(), "-L", "-t", "-x", "--cf=use_bayes 0", "--cf=use_txrep 0"],
            input=received + raw,
            capture_output=True,
            env={"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            timeout=300,
            check=True,
        )
    out = done.stdout.decode("utf-8", "replace")
    status = re.search(
        r"^X-Spam-Status: \w+, score=(-?[\d.]+) .*?tests=(.*?)\s+autolearn", out, re.M | re.S
    )
    assert status is not None, out[-2000:]
    rules = tuple(rule for rule in re.split(r"[,\s]+", status.group(2)) if rule and rule != "none")
    return Verdict(float(status.group(1)), rules, out[out.find("Content analysis") :])
