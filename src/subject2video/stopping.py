"""Stopping the process: the first SIGTERM, SIGINT or SIGHUP asks for a graceful stop, a second
one for an immediate stop. Signals belong to the process, so this state does too (`STOP`).

A graceful stop takes no new work, lets the running task finish within `S2V_STOP_GRACE_SECONDS`,
and puts it back in the queue, without spending an attempt, if it does not (tasks/lifecycle.py
`release`). Engine processes ignore these signals: their parent decides when they stop.
"""

from __future__ import annotations

import logging
import signal
import threading

logger = logging.getLogger(__name__)

#: What `s2v serve` and `s2v worker` stop on.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequest:
    """Whether a stop was asked, and whether it must be immediate."""

    def __init__(self) -> None:
        #: Set by the first signal: finish what runs, take nothing new.
        self.graceful = threading.Event()
        #: Set by a second signal: stop now; a running task goes back to the queue.
        self.immediate = threading.Event()

    def note(self, sig: int) -> bool:
        """Record a signal; True when it is the second, the one that stops at once."""
        name = signal.Signals(sig).name
        if self.graceful.is_set():
            self.immediate.set()
            logger.warning("second %s: stopping at once", name)
            return True
        self.graceful.set()
        logger.info("%s: stopping gracefully; a second signal stops at once", name)
        return False


STOP = StopRequest()
