"""A node we start does not outlive us: not after Ctrl-C, not after SIGKILL (the party: whoever kills the demo)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from o2ochain._chain.connection import dies_with_parent

STARTS_A_NODE = """
import sys, time
from pathlib import Path
from o2ochain._chain.connection import Anvil
node = Anvil(log_path=Path(sys.argv[1])).start()
print(node._proc.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_a_node_started_by_a_process_killed_with_sigkill_stops_too(tmp_path: Path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", STARTS_A_NODE, str(tmp_path / "anvil.log")], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        node = int(owner.stdout.readline())
        assert _alive(node)
        owner.send_signal(signal.SIGKILL)  # no atexit, no finally: only the kernel can stop the node now
        owner.wait(10)
        assert _gone_within(node, 10), f"Anvil {node} outlived the process that started it"
    finally:
        owner.kill()


def test_the_request_is_made_only_from_the_main_thread() -> None:
    # Linux ties the death signal to the starting thread: from a worker thread it would stop the
    # node when that thread ends, long before the process does.
    assert dies_with_parent() is not None
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(dies_with_parent()))
    worker.start()
    worker.join()
    assert seen == [None]


def test_a_child_asked_to_die_with_us_keeps_running_while_we_live() -> None:
    child = subprocess.Popen(["sleep", "30"], preexec_fn=dies_with_parent())  # noqa: PLW1509 - the function under test
    try:
        time.sleep(0.3)
        assert child.poll() is None
        assert os.getpid() == int(Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    finally:
        child.kill()
        child.wait()
