"""RetryPolicy: the delay before each retry, for any valid policy (never an OverflowError)."""

from __future__ import annotations

import math
import random

import pytest

from processes import Process, Task, TaskStatus
from processes.retry import RetryPolicy


def test_delays_grow_by_the_backoff_up_to_the_cap() -> None:
    policy = RetryPolicy(retries=6, delay=1.0, backoff=2.0, max_delay=10.0)
    assert [policy.delay_before(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


@pytest.mark.parametrize("retry", [1025, 5000, 10**6, 10**400])
def test_a_capped_delay_is_the_cap_however_many_retries_came_before(retry: int) -> None:
    assert RetryPolicy(delay=0.5, backoff=2.0, max_delay=30.0).delay_before(retry) == 30.0
    assert RetryPolicy(delay=1.0, backoff=2.0, max_delay=0.0).delay_before(retry) == 0.0


@pytest.mark.parametrize("retry", [1025, 10**400])
def test_an_uncapped_delay_too_large_for_a_float_is_infinite(retry: int) -> None:
    assert RetryPolicy(delay=1.0, backoff=2.0).delay_before(retry) == math.inf
    # jitter cannot move an infinite delay (inf - inf would be nan)
    jittered = RetryPolicy(delay=1.0, backoff=2.0, jitter=0.5)
    assert jittered.delay_before(retry, random.Random(1)) == math.inf


def test_a_capped_jittered_delay_stays_within_the_cap_after_many_retries() -> None:
    policy = RetryPolicy(delay=1.0, backoff=3.0, max_delay=5.0, jitter=0.2)
    rng = random.Random(3)
    for retry in (2000, 2001, 10**5):
        assert 4.0 <= policy.delay_before(retry, rng) <= 5.0


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RetryPolicy(delay=0.0, backoff=2.0), 0.0),  # 0 * 2**1024 is no wait, not an error
        (RetryPolicy(delay=0.0, backoff=math.inf), 0.0),  # not 0 * inf = nan
        (RetryPolicy(delay=math.inf, backoff=0.0), 0.0),  # not inf * 0 = nan
        (RetryPolicy(delay=1.0, backoff=0.5), 0.0),  # shrinks towards 0, no underflow error
        (RetryPolicy(delay=2.0, backoff=1.0), 2.0),
    ],
)
def test_extreme_policies_give_a_number(policy: RetryPolicy, expected: float) -> None:
    assert policy.delay_before(1100) == expected


@pytest.mark.parametrize("parallel", [False, True])
def test_a_run_with_more_retries_than_a_float_backoff_can_count_finishes(
    parallel: bool,
) -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        raise ConnectionError("down")

    retried = Task("flaky", flaky, retries=1100, retry_backoff=2, retry_max_delay=0)
    tasks = [retried, *(Task(f"other{i}", int) for i in range(10))]
    report = Process(tasks).run(parallel=parallel)

    entry = report.entries["flaky"]
    assert entry.status is TaskStatus.ERRORED
    assert entry.attempts == len(calls) == 1101
    assert len(report.successes) == 10


def test_task_run_alone_with_many_retries_finishes() -> None:
    def flaky() -> None:
        raise ConnectionError("down")

    task = Task("flaky", flaky, retries=1100, retry_delay=0.001, retry_backoff=2, retry_max_delay=0)
    result = task.run()
    assert result.status is TaskStatus.ERRORED
    assert result.attempts == 1101
