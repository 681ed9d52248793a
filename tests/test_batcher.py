"""Greedy batching of /classify (service/batcher.py): no waiting when idle, company when busy."""

import asyncio
import threading
import time

import pytest

from service.batcher import GreedyBatcher


class SlowModel:
    """Doubles numbers; records each call's items; the first call can be held until released."""

    def __init__(self, fail_on=None):
        self.calls: list[list] = []
        self.release = threading.Event()
        self.release.set()
        self.fail_on = fail_on

    def __call__(self, items):
        self.release.wait(5)
        self.calls.append(list(items))
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"cannot read {self.fail_on}")
        return [2 * x for x in items]


def test_a_lone_request_runs_at_once_and_alone():
    model = SlowModel()
    batcher = GreedyBatcher(model, max_items=8)

    async def one():
        started = time.perf_counter()
        result = await batcher.submit([1, 2])
        return result, time.perf_counter() - started

    result, took = asyncio.run(one())
    assert result == [2, 4] and model.calls == [[1, 2]]
    assert took < 1.0  # no batching window to wait out (generous: a loaded CI machine)
    assert asyncio.run(batcher.submit([])) == [] and len(model.calls) == 1


def test_requests_that_arrive_while_the_model_is_busy_share_its_next_call():
    model = SlowModel()
    batcher = GreedyBatcher(model, max_items=8)

    async def burst():
        model.release.clear()
        first = asyncio.ensure_future(batcher.submit([0]))
        await asyncio.sleep(0.05)  # the first call is running (held)
        rest = [asyncio.ensure_future(batcher.submit([i, 10 + i])) for i in range(1, 4)]
        await asyncio.sleep(0.05)
        model.release.set()
        return await first, await asyncio.gather(*rest)

    first, rest = asyncio.run(burst())
    assert first == [0]
    assert rest == [[2, 22], [4, 24], [6, 26]]  # each caller gets its own results, in order
    assert model.calls == [[0], [1, 11, 2, 12, 3, 13]]


def test_a_batch_holds_at_most_max_items_and_a_large_request_runs_alone():
    model = SlowModel()
    batcher = GreedyBatcher(model, max_items=4)

    async def burst():
        model.release.clear()
        first = asyncio.ensure_future(batcher.submit([0]))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(batcher.submit(items))
                for items in ([1, 2], [3, 4], [5, 6, 7, 8, 9, 10], [11])]
        await asyncio.sleep(0.05)
        model.release.set()
        return await first, await asyncio.gather(*rest)

    first, rest = asyncio.run(burst())
    assert rest == [[2, 4], [6, 8], [10, 12, 14, 16, 18, 20], [22]]
    assert model.calls == [[0], [1, 2, 3, 4], [5, 6, 7, 8, 9, 10], [11]]


def test_a_failed_call_fails_its_callers_only_and_the_batcher_goes_on():
    model = SlowModel(fail_on=13)
    batcher = GreedyBatcher(model, max_items=2)

    async def burst():
        model.release.clear()
        first = asyncio.ensure_future(batcher.submit([1]))
        await asyncio.sleep(0.05)
        bad = asyncio.ensure_future(batcher.submit([13, 14]))
        good = asyncio.ensure_future(batcher.submit([5]))
        await asyncio.sleep(0.05)
        model.release.set()
        await first
        with pytest.raises(ValueError, match="cannot read 13"):
            await bad
        return await good, await batcher.submit([7])

    assert asyncio.run(burst()) == ([10], [14])


def test_a_caller_that_went_away_costs_the_model_nothing():
    model = SlowModel()
    batcher = GreedyBatcher(model, max_items=8)

    async def burst():
        model.release.clear()
        first = asyncio.ensure_future(batcher.submit([1]))
        await asyncio.sleep(0.05)
        gone = asyncio.ensure_future(batcher.submit([2]))
        await asyncio.sleep(0.01)
        gone.cancel()
        await asyncio.sleep(0.01)
        model.release.set()
        return await first, await batcher.submit([3])

    assert asyncio.run(burst()) == ([2], [6])
    assert model.calls == [[1], [3]]
