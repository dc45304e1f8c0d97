"""`make run`'s keeper of one process: restarts it when it exits, and says which one died and why.

honcho (make run's process runner) stops every process as soon as one exits, so a worker that died took
the whole site down with it. Run under this, the worker is started again after a short, growing pause
(1 s, doubling up to 30 s; back to 1 s once it has run for a minute), and the log says so in words:

    worker.1 | make run: the worker (pid 4242) exited with status 1 after 12 s (see its output above);
               starting it again in 1 s. The web and the sandbox keep running.

Ctrl-C (honcho's SIGTERM) is passed on to the process once, and this waits for it to stop cleanly (the
worker finishes its batch and records its heartbeat as stopped) instead of being killed with it: the
process runs in a session of its own, so only this forwarded signal reaches it.

    python -m fusion_site.dev_supervisor worker -- python manage.py fusion_worker ...

No Django here: it only starts, watches and restarts a command.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from types import FrameType

FIRST_PAUSE_SECONDS = 1.0
MAX_PAUSE_SECONDS = 30.0
# A process that ran this long before dying did not die at start: the next restart comes quickly again.
STEADY_SECONDS = 60.0


def exit_described(returncode: int) -> str:
    """How a process ended, in words: the status, or the signal that killed it."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    if returncode == 0:
        return "exited with status 0 (it stopped by itself)"
    return f"exited with status {returncode} (see its output above)"


class Supervisor:
    def __init__(self, *, name: str, command: list[str]) -> None:
        self.name = name
        self.command = command
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None

    def on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            return  # one signal is passed on; a second would make the worker abandon its batch
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.on_stop_signal)
        signal.signal(signal.SIGINT, self.on_stop_signal)
        pause = FIRST_PAUSE_SECONDS
        while True:
            started = time.monotonic()
            # The command is make run's own Procfile line (fusion_site.dev), not outside input.
            self.child = subprocess.Popen(self.command, start_new_session=True)  # noqa: S603
            if self.stopping:  # the signal came while it was being started
                self.child.send_signal(signal.SIGTERM)
            returncode = self.child.wait()
            if self.stopping:
                return returncode if returncode >= 0 else 128 - returncode
            ran = time.monotonic() - started
            if ran >= STEADY_SECONDS:
                pause = FIRST_PAUSE_SECONDS
            print(
                f"make run: the {self.name} (pid {self.child.pid}) {exit_described(returncode)} after "
                f"{ran:.0f} s; starting it again in {pause:.0f} s. The other processes keep running.",
                flush=True,
            )
            if self._pause(pause):
                return 0
            pause = min(MAX_PAUSE_SECONDS, pause * 2)

    def _pause(self, seconds: float) -> bool:
        """Wait before a restart; True when a stop signal came meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.stopping:
                return True
            time.sleep(0.1)
        return self.stopping


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fusion_site.dev_supervisor",
        description="Run a command, restart it whenever it exits, pass one SIGTERM on (make run's worker).",
    )
    parser.add_argument("name", help="what the process is, for the log (e.g. worker)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command and its arguments")
    options = parser.parse_args(argv)
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if not command:
        parser.error("give the command to run after --")
    return Supervisor(name=options.name, command=command).run()


if __name__ == "__main__":
    sys.exit(main())
