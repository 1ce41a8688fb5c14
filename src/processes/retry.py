"""When a failed attempt is tried again, and after how long.

Pure: no sleeping here, and no import from the package.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

#: What ``retries`` retries when ``retry_on`` is None.
DEFAULT_RETRY_ON: tuple[type[Exception], ...] = (ConnectionError, TimeoutError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries`` extra attempts for exceptions in ``retry_on``, paced by an exponential delay.

    The delay before retry ``n`` (1-based) is ``delay * backoff ** (n - 1)``, capped at
    ``max_delay``, then moved by up to ``± jitter`` of itself, never past the cap.
    A delay too large for a float is infinite, never an ``OverflowError``: with a cap it
    is the cap, and without one the retry waits forever (until Ctrl-C), as the formula
    says; a finite number there would be just as unreachable.
    """

    retries: int = 0
    retry_on: tuple[type[BaseException], ...] = DEFAULT_RETRY_ON
    delay: float = 0.0
    backoff: float = 1.0
    max_delay: float | None = None
    jitter: float = 0.0

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    def delay_before(self, retry: int, rng: random.Random | None = None) -> float:
        """Return the seconds to wait before retry number ``retry`` (1-based)."""
        seconds = _grown(self.delay, self.backoff, retry - 1)
        if self.max_delay is not None:
            seconds = min(seconds, self.max_delay)
        if self.jitter and 0 < seconds < math.inf:  # inf ± inf would be nan
            spread = seconds * self.jitter
            seconds += (rng or random).uniform(-spread, spread)
            if self.max_delay is not None:
                seconds = min(seconds, self.max_delay)
        return max(float(seconds), 0.0)


def _grown(delay: float, backoff: float, times: int) -> float:
    """``delay * backoff ** times``, infinite where a float overflows."""
    if delay == 0 or times <= 0:
        return delay
    try:
        growth = float(backoff) ** times
    except OverflowError:  # float ** int raises where it should saturate
        growth = math.inf
    # 0 * inf would be nan: a backoff of 0 means no wait, however long the first was
    return 0.0 if growth == 0 else delay * growth
