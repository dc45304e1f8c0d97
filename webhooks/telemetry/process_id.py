"""The id a process names itself by, `host:pid:random`, wherever it holds or reports something: a worker's
heartbeat, the claims of its drains (`Delivery.claimed_by`), the lease of a run (`Run.lease_owner`).

The host and pid say which process it is, so a process finds every claim it holds by its prefix (its
heartbeat renews them), and a holder on this machine whose process no longer exists is known to be gone
without waiting for its lease to run out. The random part tells apart the ids one process makes (each
drain, each run it works on).
"""

import os
import socket
import uuid


def process_id_new() -> str:
    """A new id of this process: `host:pid:` and 8 random hex digits."""
    return f"{process_id_prefix()}{uuid.uuid4().hex[:8]}"


def process_id_prefix() -> str:
    """`host:pid:`, the start of every id this process makes (and of no other process's)."""
    return f"{socket.gethostname()}:{os.getpid()}:"


def process_gone(process_id: str) -> bool:
    """Is the process `process_id` names known to be gone? Only when it ran on this machine and its pid no
    longer exists. Another machine's process, this process, or an id of another shape is never known to
    be gone: there, only a lease's expiry tells."""
    host, _, rest = process_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, the pid is only looked up
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, run by another user
    return False
