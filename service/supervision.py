"""The worker dies with its supervisor, whatever the signal.

BentoML starts each worker in a session of its own, so a signal to the server's process group
(``kill -KILL -PGID``, a terminal closing) reaches the supervisor but not the worker, which went on
holding the port and serving. On Linux the kernel sends the worker SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``); elsewhere, and as a backstop, a thread notices the parent is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
POLL_S = 1.0


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the polling thread still works


def die_with_parent() -> None:
    """Call in the worker: exit as soon as the process that started it is gone."""
    parent = os.getppid()
    _set_parent_death_signal()

    def watch():
        while True:
            # An orphan is re-parented (to init or a subreaper), so its parent id changes.
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(POLL_S)

    threading.Thread(target=watch, name="stance-parent-watch", daemon=True).start()
