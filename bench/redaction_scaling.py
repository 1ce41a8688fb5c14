"""How masking grows with the text: 1 MB against 10 MB, for ordinary and hostile text.

Masking (``Redactor.mask_text``: the environment's secret values, then every credential
shape and the masking next to secret-looking names) must take time in proportion to the
text, so a result or a message of megabytes never stalls a run. Each line times one
kind of text at 1 MB and at 10 MB (best of ``--reps``, CPU time) and prints the ratio:
about 10 is linear; a pattern that backtracks would show 100 or never finish.

    .venv/bin/python bench/redaction_scaling.py            # every kind, 3 repetitions
    .venv/bin/python bench/redaction_scaling.py --reps 5

Exits 1 when a ratio is above ``--max-ratio`` (default 25) or a masked text is wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from processes.redaction import DEFAULT_REDACTOR, read_environment

if TYPE_CHECKING:
    from collections.abc import Callable

MB = 1_000_000
_PROSE = "The nightly run loaded 1234 rows from orders at 02:00; commit a1b2c3d shipped. "
_PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMx\n"
    "-----END RSA PRIVATE KEY-----\n"
)

# Each kind: a unit repeated to the size; the near misses make every pattern start a
# match attempt at each repetition, the long runs make one attempt read far.
KINDS: dict[str, str] = {
    "prose": _PROSE,
    "tokens among prose": _PROSE + "key sk_live_4eC39HqLyjWDarjtT1zdp7dc ghp_" + "x1Y2" * 9 + " ",
    "near misses": "sk_live_abc ghp_abc xoxb-1 AKIA12 AIzaS eyJhbGci.eyJ -----BEGIN ",
    "one long word": "eyJ" + "A" * 64,  # repeated: one run of word characters, no dot
    "repeated prefixes": "eyJ",
    "private keys": _PEM,
    "key without an end": "-----BEGIN RSA PRIVATE KEY-----\n" + "QUJD" * 16,
    "secret-looking names": "password=x token: y api_key='z' ",
}


def text_of(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def best_cpu_seconds(work: Callable[[], object], reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions per size (best kept)")
    parser.add_argument("--max-ratio", type=float, default=25.0, help="10 MB / 1 MB limit")
    args = parser.parse_args(argv)
    read_environment({"BENCH_API_KEY": "bench-secret-value-0123"})  # one known value
    failed = False
    print(f"{'text':<22} {'1 MB s':>8} {'10 MB s':>8} {'ratio':>6}")
    for kind, unit in KINDS.items():
        small, large = text_of(unit, MB), text_of(unit, 10 * MB)
        masked = DEFAULT_REDACTOR.mask_text(small)
        if "sk_live_4eC39" in masked or "MIIEowIBAAKC" in masked:
            print(f"{kind}: a credential was not masked", file=sys.stderr)
            failed = True
        one = best_cpu_seconds(lambda text=small: DEFAULT_REDACTOR.mask_text(text), args.reps)
        ten = best_cpu_seconds(lambda text=large: DEFAULT_REDACTOR.mask_text(text), args.reps)
        ratio = ten / one if one > 0 else float("nan")
        verdict = "" if ratio <= args.max_ratio else "  FAIL"
        failed = failed or bool(verdict)
        print(f"{kind:<22} {one:8.3f} {ten:8.3f} {ratio:6.1f}{verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
