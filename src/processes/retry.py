"""When a failed attempt is tried again, and after how long. Pure: no sleeping here."""

from __future__ import annotations

import random
from dataclasses import dataclass

#: What ``retries`` retries when ``retry_on`` is None.
DEFAULT_RETRY_ON: tuple[type[Exception], ...] = (ConnectionError, TimeoutError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries`` extra attempts for exceptions in ``retry_on``, paced by an exponential delay.

    The delay before retry ``n`` (1-based) is ``delay * backoff ** (n - 1)``, capped at
    ``max_delay``, then moved by up to ``± jitter`` of itself, never past the cap.
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
        seconds = self.delay * self.backoff ** (retry - 1)
        if self.max_delay is not None:
            seconds = min(seconds, self.max_delay)
        if self.jitter and seconds > 0:
            spread = seconds * self.jitter
            seconds += (rng or random).uniform(-spread, spread)
            if self.max_delay is not None:
                seconds = min(seconds, self.max_delay)
        return max(seconds, 0.0)
