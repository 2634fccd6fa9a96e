"""Run a function in a thread and get its result, or its exception, back in the caller."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Background:
    """``Background(f, *args).result()`` is ``f(*args)``, run while the caller goes on.

    An exception in the thread is raised again by ``result()``: a failure there fails the caller
    (a test, a benchmark) instead of being lost with the thread.
    """

    def __init__(self, function: Callable[..., Any], *args: Any):
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(function, *args), daemon=True)
        self._thread.start()

    def _run(self, function: Callable[..., Any], *args: Any) -> None:
        try:
            self._result = function(*args)
        except BaseException as error:  # handed to the test's thread by result()
            self._error = error

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def result(self, timeout_s: float | None = None) -> Any:
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise TimeoutError(f"the background call did not end within {timeout_s} s")
        if self._error is not None:
            raise self._error
        return self._result
