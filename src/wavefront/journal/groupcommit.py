"""Group commits: the journal's writes of one pass of the event loop in one transaction.

A commit costs a WAL append (about 100 µs on the development machine's disk), and a task
used to make five or more of them. While the engine's loop runs, the first write of a
pass opens a transaction, later writes of the same pass join it, and the commit runs at
the start of the next pass, before anything woken in between. Whoever is about to act on
a state it wrote (start an agent, create a workspace, publish a merge) first awaits
`Journal.durable()`, so write-before-act holds as it did with one commit per write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the journal is read without an event loop too (`status`, `approve`)
    import asyncio

__all__ = ["Group"]


@dataclass
class Group:
    """One engine loop's group-commit state."""

    loop: asyncio.AbstractEventLoop
    # Told when a commit fails (the writes since the last one are lost) or a listener
    # raises: the engine stops with it, as it would have at the write itself.
    on_failure: Callable[[BaseException], None]
    # Waiting for the open transaction to be on disk (`Journal.durable`).
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    # Writes in the open transaction (the checkpointer's cadence counts writes).
    writes: int = 0

    def wait(self) -> asyncio.Future[None]:
        future = self.loop.create_future()
        self.waiters.append(future)
        return future

    def release(self, failure: BaseException | None = None) -> None:
        """Wake every waiter: the transaction is on disk, or it is lost (`failure`)."""
        waiters, self.waiters = self.waiters, []
        for future in waiters:
            if future.done():  # its waiter was cancelled
                continue
            if failure is None:
                future.set_result(None)
            else:
                future.set_exception(failure)
