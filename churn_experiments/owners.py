"""Which process opened a run or holds a lock, and whether that process still exists.

Runs, ledger entries and the policy lock carry their owner's host and pid as tags.
A process killed outright (``kill -9``, a power cut) cannot close what it opened;
the next command on the same host sees that the owner is gone and says so. An owner
on another host is never judged: it may be alive.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

log = logging.getLogger(__name__)

HOST_TAG = "host"
PID_TAG = "pid"
REASON_TAG = "killed_reason"


def owner_tags() -> dict[str, str]:
    """This process as tags: ``{"host": ..., "pid": ...}``."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def describe(tags: Mapping[str, str]) -> str:
    """``pid 123 on host-a`` (or ``an unknown process``)."""
    if PID_TAG not in tags:
        return "an unknown process"
    return f"pid {tags[PID_TAG]} on {tags.get(HOST_TAG, '?')}"


def owner_gone(tags: Mapping[str, str], since: float | None = None) -> bool:
    """True when ``tags`` name a process of this host that no longer exists.

    A pid now used by a process started after ``since`` (epoch seconds, when the
    owner opened what it owns) counts as gone: the number was reused. A zombie
    (killed, not yet reaped by its parent) is gone too.
    """
    import psutil

    if tags.get(HOST_TAG) != socket.gethostname():
        return False
    try:
        process = psutil.Process(int(tags[PID_TAG]))
        if since is not None and process.create_time() > since + 1:
            return True
        return process.status() == psutil.STATUS_ZOMBIE
    except (KeyError, ValueError):
        return False
    except psutil.NoSuchProcess:
        return True


def still_open(client: MlflowClient, run_id: str) -> Run | None:
    """The run read afresh if it is still RUNNING, else None.

    For a run found RUNNING whose owner is now gone: the owner may have ended it
    (and then itself) between the search and the check. Gone, it writes no more, so
    a run RUNNING now was truly left open.
    """
    run = client.get_run(run_id)
    return run if run.info.status == "RUNNING" else None


def close_orphaned_runs(
    client: MlflowClient, experiment_ids: Iterable[str], found_by: str
) -> list[str]:
    """Mark KILLED the RUNNING runs whose owner on this host is gone; their ids.

    Each gets a ``killed_reason`` tag, and a warning names it.
    """
    ids = list(experiment_ids)
    if not ids:
        return []
    runs = client.search_runs(
        ids,
        filter_string=f"attributes.status = 'RUNNING' and "
        f"tags.{HOST_TAG} = '{socket.gethostname()}'",
        max_results=1000,
    )
    closed = []
    for run in runs:
        tags = run.data.tags
        if not owner_gone(tags, run.info.start_time / 1000):
            continue
        if still_open(client, run.info.run_id) is None:
            continue
        reason = (
            f"its process ({describe(tags)}) ended without closing it; "
            f"found by {found_by} at {time.strftime('%Y-%m-%d %H:%M:%S')}"
        )
        client.set_tag(run.info.run_id, REASON_TAG, reason)
        client.set_terminated(run.info.run_id, "KILLED")
        log.warning(
            "run %s (%s) was left RUNNING: marked KILLED, %s",
            run.info.run_id,
            run.info.run_name,
            reason,
        )
        closed.append(run.info.run_id)
    return closed
