"""The one process id, `host:pid:random`: made here, this process's prefix, and gone only when known gone."""

import os
import re
import socket
import subprocess
import sys

from webhooks.telemetry.process_id import process_gone, process_id_new, process_id_prefix


def test_a_new_id_names_this_machine_and_process_and_is_new_each_time():
    first, second = process_id_new(), process_id_new()

    assert re.fullmatch(rf"{re.escape(socket.gethostname())}:{os.getpid()}:[0-9a-f]{{8}}", first)
    assert first.startswith(process_id_prefix())
    assert first != second


def test_a_process_of_this_machine_that_exited_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()

    assert process_gone(f"{socket.gethostname()}:{child.pid}:abcd1234")


def test_a_live_process_another_machine_or_another_shape_is_never_known_gone():
    host = socket.gethostname()
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as child:
        try:
            assert not process_gone(f"{host}:{child.pid}:abcd1234")  # alive
        finally:
            child.kill()
    assert not process_gone(process_id_new())  # this process
    assert not process_gone(f"another-{host}:{child.pid}:abcd1234")  # only its lease's expiry tells
    for odd in ("", host, f"{host}:", f"{host}:pid:abcd1234", "worker-1"):
        assert not process_gone(odd)
