import threading

import pytest

from stance.prefetch import prefetch


def test_items_come_out_in_order_from_another_thread():
    seen = []

    def items():
        for i in range(100):
            seen.append(threading.current_thread().name)
            yield i

    assert list(prefetch(items(), 3)) == list(range(100))
    assert set(seen) == {"stance-prefetch"}


def test_depth_zero_iterates_in_the_callers_thread():
    names = []

    def items():
        names.append(threading.current_thread().name)
        yield 1

    assert list(prefetch(items(), 0)) == [1]
    assert names == [threading.current_thread().name]


def test_the_producer_stays_at_most_depth_items_ahead():
    made = []

    def items():
        for i in range(50):
            made.append(i)
            yield i

    stream = prefetch(items(), 2)
    assert next(stream) == 0
    threading.Event().wait(0.3)
    # one handed out, two in the buffer, one waiting to be put
    assert len(made) <= 4
    stream.close()


def test_an_error_in_the_producer_is_raised_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise OSError("disk gone")

    stream = prefetch(items(), 4)
    assert [next(stream), next(stream)] == [1, 2]
    with pytest.raises(OSError, match="disk gone"):
        next(stream)


def test_closing_the_consumer_stops_the_producer():
    stopped = threading.Event()

    def items():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            stopped.set()

    stream = prefetch(items(), 2)
    next(stream)
    stream.close()
    alive = [t for t in threading.enumerate() if t.name == "stance-prefetch"]
    assert not alive
    assert stopped.wait(2)


def test_a_negative_depth_is_refused():
    with pytest.raises(ValueError, match="depth"):
        list(prefetch([1], -1))
