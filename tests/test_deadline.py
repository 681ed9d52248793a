import threading
import time

import pytest

from stance import deadline
from stance.segment import segment


def test_check_is_a_no_op_outside_a_deadline():
    deadline.check()


def test_check_raises_once_the_deadline_has_passed_or_the_work_is_cancelled():
    with deadline.deadline(time.monotonic() + 60):
        deadline.check()
    with pytest.raises(deadline.DeadlineExceeded), deadline.deadline(time.monotonic() - 1):
        deadline.check()
    cancelled = threading.Event()
    with deadline.deadline(time.monotonic() + 60, cancelled):
        cancelled.set()
        with pytest.raises(deadline.DeadlineExceeded):
            deadline.check()
    deadline.check()  # the deadline ends with its block


def test_segmentation_stops_at_a_passed_deadline():
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(deadline.DeadlineExceeded), deadline.deadline(time.monotonic() + 60, cancelled):
        segment("Kyiv asked to join. " * 10)
