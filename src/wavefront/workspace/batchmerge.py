"""Several waiting tasks merged as one candidate, verified once, bisected when red.

The technique of merge queues (bors, GitHub's merge queue): the tasks' merge commits are
chained on the integration head (each a 2-parent merge onto the one before, so every task
keeps a merge commit of its own and exactly-once still reads off the first-parent history),
and only the chain's tip is verified. Green: one compare-and-swap publishes all of them.
Red: a binary search over the chain's prefixes finds the first prefix that fails; the
green prefix below it is published, the task that turned it red is handed back as refused
by the verifier, and the rest is chained again on the new head. Nothing is published that
was not verified green itself, so the integration branch is never red; with one culprit
among n tasks this costs at most 2 + log2(n) verifications.

`parallel` verifications run side by side: the first round checks the whole chain and
evenly spaced prefixes of it at once (wasted when the tip is green, the wall time is the
same), and each round of the search checks that many prefixes.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from wavefront.workspace.base import (
    BatchVerifier,
    CandidateNote,
    MergeEdit,
    MergeItem,
    MergeOutcome,
)
from wavefront.workspace.git import GitRepo

__all__ = ["merge_batch"]


class _Backend(Protocol):
    """The merge primitives of the git backend (`GitWorkspaces`) that a batch uses."""

    integration_branch: str
    repo: GitRepo

    def task_branch(self, task_id: str) -> str: ...
    def integration_head(self) -> str: ...
    def pinned_head(self, task_id: str, checked: str | None, known: str | None = None
                    ) -> str | MergeOutcome: ...
    def refuse_if_checked_out(self, branch: str) -> None: ...
    def already_merged(self, task_id: str, task_head: str, onto: str
                       ) -> MergeOutcome | None: ...
    def compute_merge(self, onto: str, task_head: str, message: str,
                      edit: MergeEdit | None = None) -> MergeOutcome: ...
    def publish(self, new: str, old: str) -> bool: ...

# Publishing is compare-and-swap; a branch that moved meanwhile is merged again this often.
PUBLISH_ATTEMPTS = 5
REFUSED_BY_GATES = "the merged tree failed its gates"


@dataclass(frozen=True)
class _Link:
    item: MergeItem
    outcome: MergeOutcome  # its merge commit onto the link before (or the head)


def merge_batch(
    workspaces: _Backend,
    items: Sequence[MergeItem],
    verify: BatchVerifier | None = None,
    announce: CandidateNote | None = None,
    parallel: int = 1,
) -> dict[str, MergeOutcome]:
    """Merge `items` (in order) into the integration branch; each task's outcome by id.

    `verify(commit, old, task_ids)` sees a candidate (its tip, the head it was chained on,
    the tasks it holds) and says whether it may be published; `announce(old, new, merges)`
    is told each candidate just before it is published, so it can be journaled first.
    """
    outcomes: dict[str, MergeOutcome] = {}
    heads: dict[str, str] = {}
    # Two processes for the whole batch, before any merge: every task branch's head, and
    # which of them the integration branch already holds.
    found = _branch_heads(workspaces)
    for item in items:
        pinned = workspaces.pinned_head(item.task_id, item.checked,
                                        found.get(workspaces.task_branch(item.task_id)))
        if isinstance(pinned, MergeOutcome):
            outcomes[item.task_id] = pinned
        else:
            heads[item.task_id] = pinned
    pending = [item for item in items if item.task_id in heads]
    if not pending:
        return outcomes
    workspaces.refuse_if_checked_out(workspaces.integration_branch)  # once a batch
    old = workspaces.integration_head()
    contained = _branch_heads(workspaces, merged_into=old)
    for item in list(pending):
        if workspaces.task_branch(item.task_id) not in contained:
            continue
        # Merged before a crash (its own merge commit is in the history): exactly once.
        done = workspaces.already_merged(item.task_id, heads[item.task_id], old)
        if done is not None:
            outcomes[item.task_id] = done
            pending.remove(item)
    moved = 0
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        while pending:
            old = workspaces.integration_head()
            chain, deferred = _chain(workspaces, pending, heads, old, outcomes)
            settled = _settle(workspaces, chain, old, verify, announce, parallel, pool)
            if settled is None:  # the branch moved between reading and publishing
                moved += 1
                if moved >= PUBLISH_ATTEMPTS:
                    for item in pending:
                        outcomes[item.task_id] = MergeOutcome(
                            False, None, (), f"{workspaces.integration_branch} kept moving "
                            f"while merging {workspaces.task_branch(item.task_id)}; try again")
                    break
                continue
            published, culprit, failed_tip = settled
            for link in chain[:published]:
                outcomes[link.item.task_id] = link.outcome
            if culprit is not None:
                outcomes[chain[culprit].item.task_id] = MergeOutcome(
                    False, failed_tip, (), REFUSED_BY_GATES, verified=False)
            settled_ids = {link.item.task_id for link in chain[:published]}
            if culprit is not None:
                settled_ids.add(chain[culprit].item.task_id)
            # The untested rest and the tasks that clashed with a chain member go again,
            # in their order, chained on the new head.
            retry = {link.item.task_id for link in chain} - settled_ids
            retry |= {item.task_id for item in deferred}
            pending = [item for item in pending if item.task_id in retry]
    return outcomes


def _branch_heads(workspaces: _Backend, merged_into: str | None = None) -> dict[str, str]:
    """The run's task branches (name -> head), or those whose head `merged_into` holds."""
    prefix = workspaces.task_branch("x").rsplit("/", 1)[0]
    merged = (f"--merged={merged_into}",) if merged_into else ()
    listed = workspaces.repo.run("for-each-ref", "--format=%(refname) %(objectname)",
                                 *merged, f"refs/heads/{prefix}/")
    heads = {}
    for line in listed.splitlines():
        name, _, commit = line.partition(" ")
        heads[name.removeprefix("refs/heads/")] = commit
    return heads


def _chain(workspaces: _Backend, pending: Sequence[MergeItem], heads: dict[str, str],
           old: str, outcomes: dict[str, MergeOutcome]) -> tuple[list[_Link], list[MergeItem]]:
    """Each task's merge commit onto the one before. A task that conflicts with the head
    itself gets its conflict; one that conflicts only with a task before it in the chain
    waits for the next chain (after that task is published, the conflict is real)."""
    links: list[_Link] = []
    deferred: list[MergeItem] = []
    tip = old
    for item in pending:
        outcome = workspaces.compute_merge(tip, heads[item.task_id], item.message, item.edit)
        if not outcome.ok or outcome.commit is None:
            if tip == old:
                outcomes[item.task_id] = outcome
            else:
                deferred.append(item)
            continue
        links.append(_Link(item, outcome))
        tip = outcome.commit
    return links, deferred


def _settle(
    workspaces: _Backend, chain: Sequence[_Link], old: str, verify: BatchVerifier | None,
    announce: CandidateNote | None, parallel: int, pool: ThreadPoolExecutor,
) -> tuple[int, int | None, str | None] | None:
    """Publish the longest verified prefix of `chain`: (how many links were published,
    the index of the link that turned the next prefix red or None, that prefix's tip).
    None when the branch moved before the publish."""
    size = len(chain)
    if size == 0:
        return 0, None, None

    def tip(length: int) -> str:
        return chain[length - 1].outcome.commit or old

    def check(length: int) -> bool:
        if verify is None:
            return True
        return verify(tip(length), old, [link.item.task_id for link in chain[:length]])

    def probe(lengths: Sequence[int]) -> dict[int, bool]:
        unique = sorted(set(lengths))
        if len(unique) == 1 or parallel <= 1:
            return {length: check(length) for length in unique}
        return dict(zip(unique, pool.map(check, unique), strict=True))

    def publish(length: int) -> bool:
        if announce is not None:
            announce(old, tip(length), [(link.item.task_id, link.outcome.commit or "")
                                        for link in chain[:length]])
        return workspaces.publish(tip(length), old)

    first = probe([size, *_points(0, size, parallel - 1)])
    if first[size]:
        return (size, None, None) if publish(size) else None
    green = max((length for length, ok in first.items() if ok), default=0)
    red = min(length for length, ok in first.items() if not ok)
    lo, hi = (green, red) if green < red else (0, red)
    while hi - lo > 1:
        found = probe(_points(lo, hi, parallel))
        reds = [length for length, ok in found.items() if not ok]
        hi = min(reds, default=hi)
        lo = max((length for length, ok in found.items() if ok and length < hi), default=lo)
    if lo and not publish(lo):
        return None
    return lo, hi - 1, tip(hi)


def _points(lo: int, hi: int, count: int) -> list[int]:
    """Up to `count` prefix lengths strictly between `lo` and `hi`, evenly spaced (one
    point is the midpoint: a binary search)."""
    inside = hi - lo - 1
    if inside <= 0 or count <= 0:
        return []
    count = min(count, inside)
    return sorted({lo + (hi - lo) * step // (count + 1) for step in range(1, count + 1)}
                  - {lo, hi})

