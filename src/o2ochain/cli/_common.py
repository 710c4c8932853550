"""What every command shares: the common options and their :class:`Context`, the consoles, one
way to fail (a message on stderr, exit 2 for bad input and 1 otherwise), progress bars, and the
parsers of durations and percentages."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from o2ochain._chain.accounts import load_account
from o2ochain.client import O2OChain, connect
from o2ochain.errors import ConfigError, InputError, InputErrors, O2OError

F = TypeVar("F", bound=Callable[..., Any])

out = Console()
err = Console(stderr=True)


class Context:
    """Options shared by every command."""

    def __init__(self, rpc: str, deployment: str | None, account: str | None, password_file: Path | None, as_json: bool) -> None:
        self.rpc = rpc
        self.deployment = deployment
        self.account_spec = account
        self.password_file = password_file
        self.as_json = as_json
        self._chain: O2OChain | None = None

    def chain(self) -> O2OChain:
        if self._chain is None:
            self._chain = connect(self.rpc, deployment=self.deployment)
        return self._chain

    def account(self) -> LocalAccount:
        if not self.account_spec:
            raise ConfigError("this command sends a transaction: give --account (or set O2O_ACCOUNT)")
        return load_account(
            self.account_spec, chain_id=self.chain().chain_id, password_file=self.password_file, interactive=sys.stdin.isatty()
        )

    def emit(self, data: Any, human: Callable[[], None]) -> None:
        if self.as_json:
            click.echo(json.dumps(data, indent=2, default=str))
        else:
            human()


def common(f: F) -> F:
    """The options every chain command takes."""
    options = [
        click.option(
            "--rpc", envvar="O2O_RPC", default="http://127.0.0.1:8545", show_default=True, help="JSON-RPC URL of the node ($O2O_RPC)."
        ),
        click.option(
            "--deployment",
            envvar="O2O_DEPLOYMENTS",
            default=None,
            help="Deployment manifest file or directory [default: ./deployments] ($O2O_DEPLOYMENTS).",
        ),
        click.option(
            "--account",
            envvar="O2O_ACCOUNT",
            default=None,
            help="Signer: dev:N (local chains only), a keystore file, an ape account alias, or env:VAR ($O2O_ACCOUNT).",
        ),
        click.option(
            "--password-file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="File holding the keystore password (else $O2O_PASSWORD, else a prompt).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_context(kwargs: dict[str, Any]) -> Context:
    return Context(kwargs.pop("rpc"), kwargs.pop("deployment"), kwargs.pop("account"), kwargs.pop("password_file"), kwargs.pop("as_json"))


def fail(exc: BaseException, as_json: bool) -> NoReturn:
    code = 2 if isinstance(exc, InputError) else 1
    if as_json:
        payload: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
        if isinstance(exc, InputErrors):
            payload["problems"] = [e.to_dict() for e in exc.errors]
        elif isinstance(exc, InputError):
            payload["problem"] = exc.to_dict()
        click.echo(json.dumps(payload, indent=2, default=str))
    else:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    sys.exit(code)


@contextmanager
def handled(as_json: bool) -> Iterator[None]:
    try:
        yield
    except O2OError as exc:
        fail(exc, as_json)
    except KeyboardInterrupt:
        err.print("interrupted: rerun the same command to finish; nothing will be done twice")
        sys.exit(130)


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    if not enabled:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


def parse_duration(text: str, field: str) -> int:
    """``30d``, ``12h``, ``90m``, ``3600`` (seconds) as seconds."""
    match = _DURATION.match(text)
    if not match:
        raise InputError(f"{text!r} is not a duration: use e.g. 30d, 12h, 90m or seconds", field=field, value=text)
    return int(match.group(1)) * _SECONDS[match.group(2)]


def parse_percent(text: str, field: str) -> int:
    """``5%`` or ``2.5%`` as basis points."""
    body = text.strip().removesuffix("%")
    try:
        bps = round(float(body) * 100)
    except ValueError:
        raise InputError(f"{text!r} is not a percentage: use e.g. 5%", field=field, value=text) from None
    if not 0 <= bps <= 10_000:
        raise InputError("a tolerance is between 0% and 100%", field=field, value=text)
    return bps
