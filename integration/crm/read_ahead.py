"""Reading a listing one page ahead, in a thread, while the caller writes the page before."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator


class PageReader(threading.Thread):
    """Iterates `pages` in its own thread and hands them over one at a time (a queue of one). Only HTTP
    happens here: callbacks wrapped by `deferring` that are called in this thread wait, in order, for the
    caller's thread to run them (`run_deferred`)."""

    def __init__(self, pages: Iterator):
        super().__init__(name="crm-read-ahead", daemon=True)
        self.pages = pages
        self.handoff: queue.Queue = queue.Queue(maxsize=1)
        self._stop_asked = threading.Event()
        self._deferred: list[Callable[[], None]] = []

    def deferring(self, callback: Callable | None) -> Callable | None:
        if callback is None:
            return None

        def call(*args):
            if threading.current_thread() is self:
                self._deferred.append(lambda: callback(*args))
            else:
                callback(*args)
        return call

    def run_deferred(self) -> None:
        while self._deferred:
            self._deferred.pop(0)()

    def _hand(self, item) -> bool:
        while not self._stop_asked.is_set():
            try:
                self.handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        try:
            for page in self.pages:
                if not self._hand(("page", page)):
                    return
            self._hand(("end", None))
        except BaseException as error:  # noqa: BLE001 - handed to the caller, raised there
            self._hand(("error", error))

    def stop(self) -> None:
        """Stop after the request in flight, and wait for it."""
        self._stop_asked.set()
        self.join()
