"""The EPCIS capture workers in a process of their own (``o2ochain serve``).

Checking a capture against the chain, signing its transactions and reading their receipts is
CPU work in Python; in the server's process it holds the interpreter lock the queries need, and
under a steady capture load queries wait behind it. :class:`CaptureProcess` runs the same
workers (:class:`~o2ochain.serve._epcis._Worker`, one per actor) in a child process
(``python -m o2ochain.serve._capture``) with its own connection to the node and to the
repository, and talks to it over the child's stdin and stdout in length-prefixed pickles:

- to the child, first the setup (node, deployment, index, event store, repository URL, and the
  tokens' keys, brands and names), then one message per capture job, then ``stop``;
- from the child, ``ready`` (or ``failed`` with the reason) once set up, then ``ended`` with a
  job's id each time one is finished: the child records the job's end in the repository itself,
  the server only stops answering that job from memory.

The child's other output goes to the server's stderr. It stops when told, or when the server's
process is gone (it watches its parent). When it dies on its own, the jobs it held are failed
(their error says to send the document again; the chain is asked what it holds before anything
is sent, so nothing is sent twice) and the next capture starts a new one.

Only local keys cross into the child (over a pipe between two processes of the same user); a
service whose tokens use another kind of signer keeps its workers as threads.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from eth_account.signers.local import LocalAccount

from o2ochain.errors import ChainError

if TYPE_CHECKING:
    from o2ochain.serve._epcis import ApiToken, EpcisService, _Core, _Job

log = logging.getLogger("o2ochain.serve.capture")

_HEADER: Final = struct.Struct(">Q")
_READY_TIMEOUT: Final = 120.0
LOST: Final = (
    "the capture process stopped before this capture finished; send the document again: what is already on chain is not sent twice"
)


def write_message(stream: IO[bytes], message: Any) -> None:
    """Write ``message`` to ``stream`` as one length-prefixed pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_message(stream: IO[bytes]) -> Any:
    """The next message of ``stream``; ``None`` at its end."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # our own child's pipe, never the network


@dataclass(frozen=True)
class Setup:
    """What the child needs to capture as the service would: every field is picklable."""

    rpc: str
    deployment: Any  # a Deployment (a dataclass of plain values)
    index: str | None
    store: Path
    repository: str = field(repr=False)  # with its password
    #: token digest -> (private key, brand, where the token was defined)
    tokens: dict[bytes, tuple[bytes, int, str]] = field(repr=False)


class CaptureProcess:
    """The child process capturing for an :class:`~o2ochain.serve.EpcisService` (see the module)."""

    def __init__(self, service: EpcisService, setup: Setup) -> None:
        self.service = service
        self.setup = setup
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_lock = threading.Lock()
        self._held: set[str] = set()  # jobs sent to the current child and not ended (each child has its own set)
        self._held_lock = threading.Lock()
        self._closing = False
        self.starts = 0

    @classmethod
    def for_service(cls, service: EpcisService) -> CaptureProcess | None:
        """A started capture process for ``service``, or ``None`` when its workers must stay
        threads: a chain that is not a node over HTTP, or a token whose signer is not a local key."""
        rpc = getattr(service.chain.w3.provider, "endpoint_uri", None)
        if not isinstance(rpc, str) or not rpc.startswith(("http://", "https://")):
            return None
        keys: dict[bytes, tuple[bytes, int, str]] = {}
        for digest, token in service.tokens.items():
            if not isinstance(token.signer, LocalAccount):
                log.info("capture stays in the server's process: the token of %s is not a local key", token.where)
                return None
            keys[digest] = (bytes(token.signer.key), token.brand, token.where)
        from o2ochain._chain.index import IndexClient

        index = service.chain.index
        setup = Setup(
            rpc=rpc,
            deployment=service.chain.deployment,
            index=index.url if isinstance(index, IndexClient) else None,
            store=service.chain.trace.store.root,
            repository=service.repository.secret_url,  # the child must log in as the server did
            tokens=keys,
        )
        return cls(service, setup).start()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> CaptureProcess:
        """Start the child and wait until it is set up (a ChainError saying why it is not)."""
        from o2ochain._chain.connection import dies_with_parent

        self._proc = subprocess.Popen(
            [sys.executable, "-m", "o2ochain.serve._capture"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the server, which stops it in order
            preexec_fn=dies_with_parent(signal.SIGTERM),  # noqa: PLW1509 - one prctl call, looked up before the fork
        )
        self.starts += 1
        assert self._proc.stdin is not None and self._proc.stdout is not None
        write_message(self._proc.stdin, self.setup)
        answer: list[Any] = []
        stdout = self._proc.stdout
        reader = threading.Thread(target=lambda: answer.append(read_message(stdout)), daemon=True)
        reader.start()
        reader.join(_READY_TIMEOUT)  # setting up connects to the node and the index, each with its own timeouts
        first = answer[0] if answer else None
        if first != ("ready",):
            self._proc.kill()
            self._proc.wait()
            why = first[1] if isinstance(first, tuple) and first[0] == "failed" else "it stopped or did not answer (see the log above)"
            raise ChainError(f"the capture process did not start: {why}")
        self._held = set()
        threading.Thread(target=self._listen, args=(self._proc, self._held), name="epcis-capture-process", daemon=True).start()
        return self

    def submit(self, job: _Job) -> None:
        """Hand ``job`` to the child (started again first when it died)."""
        message = ("job", job.id, _digest_of(self.service, job), job.behaviour, job.events, job.ids, job.source, job.hashed)
        with self._write_lock:
            try:
                if not self.running:
                    log.warning("the capture process is gone; starting it again")
                    self.start()
                assert self._proc is not None and self._proc.stdin is not None
                held = self._held
                with self._held_lock:
                    held.add(job.id)
                write_message(self._proc.stdin, message)
            except (OSError, ChainError) as exc:  # no child to take it: the job ends failed now, the capture is answered 503
                with self._held_lock:
                    self._held.discard(job.id)
                self.service._ended(job.id, [_lost_problem()])
                raise ChainError(f"the capture process is not running: {exc}") from exc

    def close(self, timeout: float = 30.0) -> None:
        """Tell the child to stop once its current jobs are done; kill it after ``timeout``."""
        self._closing = True
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with self._write_lock:
            try:
                assert proc.stdin is not None
                write_message(proc.stdin, ("stop",))
                proc.stdin.close()
            except OSError:
                pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _listen(self, proc: subprocess.Popen[bytes], held: set[str]) -> None:
        """Forget each job the child ended; when it dies, fail what it still held."""
        assert proc.stdout is not None
        while (message := read_message(proc.stdout)) is not None:
            if message[0] == "ended":
                with self._held_lock:
                    held.discard(message[1])
                self.service._forget(message[1])
        proc.wait()
        with self._held_lock:
            lost = sorted(held)
            held.clear()
        if not lost or self._closing:
            return  # the server stops: its next start fails what is left (abandon_running_jobs), as with threads
        log.error("the capture process stopped (exit %s) holding %d job(s): failed", proc.returncode, len(lost))
        for job_id in lost:
            self.service._ended(job_id, [_lost_problem()])


def _digest_of(service: EpcisService, job: _Job) -> bytes:
    for digest, token in service.tokens.items():
        if token is job.token:
            return digest
    raise ChainError(f"the token of capture job {job.id} is not one of this server's")


def _lost_problem() -> dict[str, Any]:
    from o2ochain.serve._epcis import _problem

    return _problem("capture failed", LOST, status=500)


# --------------------------------------------------------------------------------------------
# The child


def _watch_parent(parent: int) -> None:
    """Exit when the server's process is gone (a SIGKILL leaves no one to tell us)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def main() -> None:
    """The child: set up from stdin, then capture each job it is sent until ``stop``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops us in order
    inbox = sys.stdin.buffer
    outbox = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to the server's stderr, not into our messages
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    setup: Setup = read_message(inbox)
    if setup is None:
        return
    try:
        tokens, core, out_lock = _set_up(setup, outbox)
    except Exception as exc:  # noqa: BLE001 - told to the server, which names it
        write_message(outbox, ("failed", f"{type(exc).__name__}: {exc}"))
        return
    write_message(outbox, ("ready",))
    from o2ochain.serve._epcis import _Job, _Worker

    workers: dict[str, _Worker] = {}
    while (message := read_message(inbox)) is not None and message[0] != "stop":
        _, job_id, digest, behaviour, events, ids, source, hashed = message
        token = tokens[digest]
        job = _Job(job_id, token, behaviour, events, ids, source, hashed)
        worker = workers.get(token.address)
        if worker is None:
            worker = workers[token.address] = _Worker(core, token.signer)
            worker.start()
        worker.jobs.put(job)
    core.closed.set()
    for worker in workers.values():
        worker.jobs.put(None)
    for worker in workers.values():
        worker.join()
    with out_lock:
        outbox.close()


def _set_up(setup: Setup, outbox: IO[bytes]) -> tuple[dict[bytes, ApiToken], _Core, threading.Lock]:
    """The child's tokens and workers' core, and the lock its messages are written under."""
    from eth_account import Account

    from o2ochain.client import connect
    from o2ochain.serve._epcis import ApiToken, _Core, _finish_job
    from o2ochain.serve._repository import EventRepository

    chain = connect(setup.rpc, deployment=setup.deployment, index=setup.index)
    chain.use_store(setup.store)
    repository = EventRepository.open(setup.repository)
    signers: dict[bytes, LocalAccount] = {}
    tokens: dict[bytes, ApiToken] = {}
    for digest, (key, brand, where) in setup.tokens.items():
        signer = signers.setdefault(key, Account.from_key(key))
        tokens[digest] = ApiToken(signer, brand, where)
    out_lock = threading.Lock()

    def ended(job_id: str, errors: list[dict[str, Any]]) -> None:
        try:
            _finish_job(repository, job_id, errors)
        finally:
            with out_lock:
                write_message(outbox, ("ended", job_id))

    return tokens, _Core(chain, repository, threading.Event(), ended), out_lock


if __name__ == "__main__":
    main()
