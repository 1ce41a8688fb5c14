"""DaemonThreadPool: threads started only for calls, replaced when abandoned, all stopped."""

from __future__ import annotations

import queue
import threading

from processes.workers import DaemonThreadPool, Result

GENEROUS_SECONDS = 30.0


def _new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before]


def _stopped(threads: list[threading.Thread]) -> bool:
    for thread in threads:
        thread.join(GENEROUS_SECONDS)
    return not any(thread.is_alive() for thread in threads)


def test_a_pool_starts_no_more_threads_than_calls() -> None:
    results: queue.SimpleQueue[Result] = queue.SimpleQueue()
    before = set(threading.enumerate())
    pool = DaemonThreadPool(8, results)
    assert _new_threads(before) == []

    together = threading.Barrier(3, timeout=GENEROUS_SECONDS)  # both calls run at once
    pool.submit(1, together.wait)
    pool.submit(2, together.wait)
    together.wait()
    assert {results.get(timeout=GENEROUS_SECONDS)[0] for _ in range(2)} == {1, 2}
    threads = _new_threads(before)
    assert len(threads) == 2

    pool.shutdown()
    assert _stopped(threads)


def test_a_pool_never_runs_more_threads_than_max_workers() -> None:
    results: queue.SimpleQueue[Result] = queue.SimpleQueue()
    before = set(threading.enumerate())
    pool = DaemonThreadPool(2, results)
    for token in range(20):
        pool.submit(token, int, token)
    assert sorted(results.get(timeout=GENEROUS_SECONDS)[:2] for _ in range(20)) == [
        (token, token) for token in range(20)
    ]
    threads = _new_threads(before)
    assert len(threads) == 2
    pool.shutdown()
    assert _stopped(threads)


def test_shutdown_stops_each_live_worker_with_one_sentinel_after_abandons() -> None:
    results: queue.SimpleQueue[Result] = queue.SimpleQueue()
    before = set(threading.enumerate())
    pool = DaemonThreadPool(2, results)
    release = threading.Event()
    started = threading.Barrier(3, timeout=GENEROUS_SECONDS)

    def stuck() -> None:
        started.wait()
        release.wait(GENEROUS_SECONDS)

    pool.submit(1, stuck)
    pool.submit(2, stuck)
    started.wait()  # both calls run: abandoning them replaces both threads
    assert pool.abandon(1)  # it had begun
    assert pool.abandon(2)
    pool.submit(3, int, 3)  # the replacements take calls
    assert results.get(timeout=GENEROUS_SECONDS)[:2] == (3, 3)

    pool.shutdown()
    release.set()  # the abandoned threads finish their calls and retire on their own
    assert _stopped(_new_threads(before))
    assert pool._calls.empty()  # one sentinel per live worker: none left over
    assert {results.get(timeout=GENEROUS_SECONDS)[0] for _ in range(2)} == {1, 2}


def test_a_call_abandoned_before_it_started_never_runs() -> None:
    results: queue.SimpleQueue[Result] = queue.SimpleQueue()
    pool = DaemonThreadPool(1, results)
    release = threading.Event()
    ran: list[int] = []
    pool.submit(1, release.wait, GENEROUS_SECONDS)
    pool.submit(2, ran.append, 2)
    assert not pool.abandon(2)  # still queued behind call 1: it never begins
    release.set()
    pool.submit(3, ran.append, 3)
    assert [results.get(timeout=GENEROUS_SECONDS)[0] for _ in range(2)] == [1, 3]
    assert ran == [3]
    pool.shutdown()


def test_a_call_cancelled_before_it_began_never_runs_and_cancel_says_so() -> None:
    results: queue.SimpleQueue[Result] = queue.SimpleQueue()
    pool = DaemonThreadPool(1, results)
    release = threading.Event()
    began = threading.Event()
    ran: list[int] = []

    def first() -> None:
        began.set()
        release.wait(GENEROUS_SECONDS)

    pool.submit(1, first)
    pool.submit(2, ran.append, 2)
    pool.submit(3, ran.append, 3)
    assert began.wait(GENEROUS_SECONDS)
    assert not pool.cancel(1)  # begun: too late to take back
    assert pool.cancel(2)
    assert not pool.cancel(2)  # taken back once only
    release.set()
    token, outcome, started = results.get(timeout=GENEROUS_SECONDS)
    assert (token, outcome) == (1, None)
    assert started > 0.0
    assert results.get(timeout=GENEROUS_SECONDS)[:2] == (3, None)
    assert ran == [3]
    assert not pool.cancel(3)  # finished
    pool.shutdown()
