"""Long calls as generators of progress, so that a napari ``thread_worker`` can yield it."""

from __future__ import annotations

import inspect
import queue
import threading
from collections.abc import Callable, Generator
from typing import Any

__all__ = ["steps_of"]


def steps_of(
    func: Callable[..., Any], *args: Any, **kwargs: Any
) -> Generator[tuple[int, int], None, Any]:
    """Run ``func(*args, **kwargs)`` in a helper thread, yielding ``(done, total)``; return
    its result (or raise its exception).

    A function with a ``progress`` parameter gets a callback ``progress(done, total)`` and its
    calls are yielded as they come; any other yields ``(0, 0)`` (busy) until it returns.

    Examples
    --------
    >>> def work(n, progress=None):
    ...     for i in range(n):
    ...         progress(i + 1, n)
    ...     return "done"
    >>> steps = steps_of(work, 2)
    >>> list(iter(lambda: next(steps, None), None))
    [(0, 0), (1, 2), (2, 2)]
    """
    updates: queue.Queue[tuple[int, int]] = queue.Queue()
    outcome: dict[str, Any] = {}
    if "progress" in inspect.signature(func).parameters:
        kwargs["progress"] = lambda done, total: updates.put((int(done), int(total)))

    def run() -> None:
        try:
            outcome["result"] = func(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc
        finally:
            updates.put((-1, -1))

    thread = threading.Thread(target=run, name=f"scanlab-{func.__name__}", daemon=True)
    thread.start()
    yield (0, 0)
    while (update := updates.get()) != (-1, -1):
        yield update
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
