"""What every command shares: the common options and their :class:`Context`, the consoles, one
way to fail (a message on stderr, exit 2 for bad input and 1 otherwise), progress bars, the click
types that read every typed value with :mod:`o2ochain.inputs` before any node is asked, the
options spelled the same on every command (``--brand``, ``--retailer``, ``--store`` …), and the
hidden old spellings of renamed commands and options."""

from __future__ import annotations

import copy
import functools
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click
from rich.markup import escape

from o2ochain import inputs
from o2ochain.cli._output import err as _stderr
from o2ochain.cli._output import out as _stdout
from o2ochain.errors import ConfigError, ContractRevert, InputError, InputErrors, O2OError

# The library's chain side (web3, aiohttp, eth-account: most of a second) is imported when a
# command first connects or signs, not when the command line starts: `--help`, a refused value
# and a command's own parsing never pay for it (tests/cli/test_conventions.py checks this).
if TYPE_CHECKING:
    from o2ochain._chain.accounts import LoadedAccount
    from o2ochain.client import O2OChain

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: The consoles every command prints through (defined in _output: stdout never wraps piped ids).
out = _stdout
err = _stderr


class Context:
    """Options shared by every command."""

    def __init__(
        self, rpc: str, deployment: str | None, account: str | None, password_file: Path | None, as_json: bool, index: str | None = None
    ) -> None:
        self.rpc = rpc
        self.index = index or None
        self.deployment = deployment
        self.account_spec = account
        self.password_file = password_file
        self.as_json = as_json
        self._chain: O2OChain | None = None

    def chain(self) -> O2OChain:
        if self._chain is None:
            from o2ochain.client import connect

            self._chain = connect(self.rpc, deployment=self.deployment, index=self.index)
        return self._chain

    def account(self) -> LoadedAccount:
        if not self.account_spec:
            raise ConfigError("this command sends a transaction: give --account (or set O2O_ACCOUNT)")
        from o2ochain._chain.accounts import load_account

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
            "--index",
            envvar="O2O_INDEX",
            default=None,
            metavar="URL",
            help="URL of an o2ochain index (indexer/) to read lists and histories from; the node is asked only for "
            "the blocks it has not indexed yet and for what is checked on chain [default: the node alone] ($O2O_INDEX).",
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
        # eager: read first, so that a bad value met while reading the others is reported as JSON too
        click.option("--json", "as_json", is_flag=True, is_eager=True, help="Print JSON instead of text."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_context(kwargs: dict[str, Any]) -> Context:
    options = ("rpc", "deployment", "account", "password_file", "as_json", "index")
    return Context(*(kwargs.pop(name) for name in options))


def fail(exc: BaseException, as_json: bool) -> NoReturn:
    code = 2 if isinstance(exc, InputError) else 1
    if as_json:
        payload: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
        if isinstance(exc, ContractRevert):  # the Solidity name, the words, the arguments by name
            payload = exc.to_dict()
        elif isinstance(exc, InputErrors):
            payload["problems"] = [e.to_dict() for e in exc.errors]
        elif isinstance(exc, InputError):
            payload["problem"] = exc.to_dict()
        click.echo(json.dumps(payload, indent=2, default=str))
    else:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
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


# -- values ---------------------------------------------------------------------------------
# Every value typed on the command line is read by o2ochain.inputs while click reads the command
# line, so a bad one ends the command there, before any node is asked anything: one line on
# stderr naming the option or argument, exit 2 (never click's usage text, never a traceback).


def _label(param: click.Parameter | None) -> str | None:
    """How a person names the value: the option's long flag, or the argument's metavar."""
    if param is None:
        return None
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return param.human_readable_name


def _wants_json(ctx: click.Context | None) -> bool:
    """Whether ``--json`` was given (it is eager, so read before every other value)."""
    while ctx is not None:
        if ctx.params.get("as_json"):
            return True
        ctx = ctx.parent
    return False


class InputType(click.ParamType):
    """A click type whose values :mod:`o2ochain.inputs` reads: subclasses say how in :meth:`parse`."""

    name = "value"

    def parse(self, text: str, where: inputs.Where) -> Any:
        raise NotImplementedError

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default that is a value already, or one converted before
        try:
            return self.parse(value, inputs.Where(field=_label(param)))
        except InputError as exc:
            if ctx is not None and ctx.resilient_parsing:  # shell completion: never exit
                return value
            fail(exc, _wants_json(ctx))


def _relocated(where: inputs.Where, parse: Callable[[str], T], text: str) -> T:
    """``parse(text)``, its InputError said of the option the text came from."""
    try:
        return parse(text)
    except InputError as exc:
        raise where.error(exc.message, text) from None


class AddressType(InputType):
    """An Ethereum address, EIP-55 checked when in mixed case; ``words`` maps words it also takes
    (``native``, ``none``) to the values they stand for."""

    name = "address"

    def __init__(self, words: Mapping[str, Any] | None = None) -> None:
        self.words = {k.lower(): v for k, v in (words or {}).items()}

    def parse(self, text: str, where: inputs.Where) -> Any:
        if text.strip().lower() in self.words:
            return self.words[text.strip().lower()]
        return inputs.address(text, where)


class AmountType(InputType):
    """An amount of the retailer's currency; its form is checked here, its decimals once the
    currency is read from the chain (:meth:`o2ochain.guarantee.GuaranteeReader.units`)."""

    name = "amount"

    def parse(self, text: str, where: inputs.Where) -> inputs.Amount:
        return inputs.decimal_amount(text, where)


class DurationType(InputType):
    """``30d``, ``12h``, ``90m``, ``1d12h`` or seconds, as seconds."""

    name = "duration"

    def __init__(self, minimum: int = 0, maximum: int | None = None) -> None:
        self.minimum, self.maximum = minimum, maximum

    def parse(self, text: str, where: inputs.Where) -> int:
        return inputs.duration(text, where, minimum=self.minimum, maximum=self.maximum)


class PercentType(InputType):
    """``5%`` or ``2.5%``, as basis points."""

    name = "percent"

    def parse(self, text: str, where: inputs.Where) -> int:
        return inputs.percent(text, where)


class HashType(InputType):
    """32 bytes in hex (a review, a purchase, a document's hash)."""

    name = "hash"

    def __init__(self, what: str) -> None:
        self.what = what

    def parse(self, text: str, where: inputs.Where) -> bytes:
        return inputs.bytes32(text, where, what=self.what)


class NumberType(InputType):
    """A whole number in a range (``1,000`` and ``1_000`` too)."""

    name = "integer"

    def __init__(self, minimum: int = 0, maximum: int = 2**256 - 1, what: str = "number") -> None:
        self.minimum, self.maximum, self.what = minimum, maximum, what

    def parse(self, text: str, where: inputs.Where) -> int:
        return inputs.integer(text, where, minimum=self.minimum, maximum=self.maximum, what=self.what)


class ChoiceType(InputType):
    """One word of a fixed list (``--kind farm``), refused in one line naming the words it takes."""

    name = "choice"

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = list(choices)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self.choices) + "]"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(c) for c in self.choices if c.startswith(incomplete)]

    def parse(self, text: str, where: inputs.Where) -> str:
        if text in self.choices:
            return text
        folded = {c.lower(): c for c in self.choices}
        if text.strip().lower() in folded:
            return folded[text.strip().lower()]
        raise where.error(f"{text!r} is not one of {', '.join(self.choices)}", text)


class DegreesType(InputType):
    """A latitude or longitude in decimal degrees, within ``limit``."""

    name = "degrees"

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def parse(self, text: str, where: inputs.Where) -> float:
        try:
            value = float(text)
        except ValueError:
            raise where.error(f"{text!r} is not a number of degrees: use e.g. 31.2304", text) from None
        if not -self.limit <= value <= self.limit:
            raise where.error(f"{text} is not between -{self.limit} and {self.limit} degrees", text)
        return value


class SecondsType(InputType):
    """A number of seconds, fractions allowed (``0.5``), at least ``minimum``."""

    name = "seconds"

    def __init__(self, minimum: float) -> None:
        self.minimum = minimum

    def parse(self, text: str, where: inputs.Where) -> float:
        try:
            value = float(text.strip().removesuffix("s"))
        except ValueError:
            raise where.error(f"{text!r} is not a number of seconds: use e.g. 5 or 0.5", text) from None
        if not value >= self.minimum:  # also refuses nan
            raise where.error(f"{text} is too short: at least {self.minimum:g} s", text)
        return value


class IdType(NumberType):
    """The number of a brand, retailer, channel, merchant or campaign (they start at 1)."""

    name = "n"

    def __init__(self, thing: str) -> None:
        super().__init__(1, 2**32 - 1, f"{thing} number")
        self.thing = thing


class MomentType(InputType):
    """A point in time: ISO 8601 (``2026-12-31T08:00:00+08:00``) or unix seconds."""

    name = "time"

    def __init__(self, *, zone_required: bool = False) -> None:
        self.zone_required = zone_required

    def parse(self, text: str, where: inputs.Where) -> datetime:
        return inputs.moment(text, where, zone_required=self.zone_required)


class GtinType(InputType):
    """A GTIN-8/12/13/14 with its check digit, as its 14 digits."""

    name = "gtin"

    def parse(self, text: str, where: inputs.Where) -> str:
        from o2ochain.gs1 import normalize_gtin

        return _relocated(where, normalize_gtin, text)


class GlnType(InputType):
    """A place: a GLN (13 digits with its check digit) or, where ``sgln``, also an SGLN URN or a
    ``/414/`` Digital Link (kept as typed)."""

    name = "gln"

    def __init__(self, *, sgln: bool = False) -> None:
        self.sgln = sgln

    def parse(self, text: str, where: inputs.Where) -> str:
        from o2ochain import gs1

        raw = text.strip()
        if len(raw) == 13 and raw.isdigit():
            if gs1.gtin_check_digit(raw[:-1]) != int(raw[-1]):
                raise where.error(f"{raw} is not a GLN: its check digit is wrong (a digit mistyped?)", text)
            return raw
        if not self.sgln:
            raise where.error(f"{raw!r} is not a GLN: expected 13 digits", text)
        from o2ochain.epcis import location_id

        _relocated(where, location_id, raw)
        return raw


class PublicKeyType(InputType):
    """A secp256k1 public key in hex (what ``o2ochain consent key show`` prints), checked on the curve."""

    name = "public-key"

    def parse(self, text: str, where: inputs.Where) -> bytes:
        from o2ochain.consent import normalize_public_key

        return _relocated(where, normalize_public_key, text)


class ReadType(InputType):
    """A word the library reads with ``read`` (a consent purpose, a data category …)."""

    def __init__(self, name: str, read: Callable[[str], Any]) -> None:
        self.name, self.read = name, read

    def parse(self, text: str, where: inputs.Where) -> Any:
        return _relocated(where, self.read, text)


ADDRESS = AddressType()
AMOUNT = AmountType()
DURATION = DurationType()
PERCENT = PercentType()
GTIN = GtinType()


# -- shared options: one spelling per concept -------------------------------------------------
def scope_option(thing: str, *, required: bool = True, help: str | None = None) -> Callable[[F], F]:
    """``--brand N``, ``--retailer N``, ``--merchant N``, ``--channel N``: what a command acts
    within, spelled after the thing on every command (its value is ``<thing>_id``)."""
    return click.option(
        f"--{thing}", f"{thing}_id", type=IdType(thing), required=required, default=None, help=help or f"The {thing}'s number."
    )


def thing_argument(thing: str) -> Callable[[F], F]:
    """The number of the thing a command acts on, as its positional argument (``RETAILER``)."""
    return click.argument(f"{thing}_id", metavar=thing.upper(), type=IdType(thing))


def store_option(f: F) -> F:
    """``--store DIR``: the folder of o2ochain's local off-chain files (EPCIS events in
    ``DIR/events``, review texts and merchant profiles in ``DIR/content``)."""
    return click.option(
        "--store",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="O2O_STORE",
        default=None,
        help="Folder of the local off-chain files: EPCIS events in events/, review texts and profiles in content/ "
        "[default: ./.o2ochain] ($O2O_STORE).",
    )(f)


def stored(ctx: Context, store: Path | None, content_dir: Path | None = None) -> O2OChain:
    """The chain of ``ctx``, keeping off-chain files under ``store`` (and the content in
    ``content_dir``, the old ``--content``, when given)."""
    from o2ochain.trace import default_store

    chain = ctx.chain()
    if store is not None:
        chain.use_store(default_store(store))
        chain.use_content(store / "content")
    if content_dir is not None:
        chain.use_content(content_dir)
    return chain


# -- old spellings ----------------------------------------------------------------------------
# A renamed command or option keeps working under its old spelling, hidden from --help, and says
# once on stderr what it is called now, so scripts written against it do not break.


def notice_renamed(old: str, new: str) -> None:
    err.print(f"note: `{old}` is now `{new}` (the old spelling will go)", highlight=False, markup=False, soft_wrap=True)


def renamed(command: click.Command, old: str, new: str) -> click.Command:
    """``command`` under its old spelling ``old`` (``register``, ``recall item``), hidden."""
    callback = command.callback
    assert callback is not None

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        notice_renamed(f"o2ochain {old}", f"o2ochain {new}")
        return callback(*args, **kwargs)

    alias = copy.copy(command)
    alias.name = old.rsplit(maxsplit=1)[-1]
    alias.hidden = True
    alias.callback = run
    return alias


def renamed_option(old: str, new: str, dest: str, *, convert: Callable[[Any], Any] | None = None, **attrs: Any) -> Callable[[F], F]:
    """Keep option ``old`` working as ``new`` (whose value is the parameter ``dest``): hidden, its
    value (through ``convert``) given to ``dest``, with a notice."""
    legacy = f"renamed_{dest}"

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def run(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(legacy)
            if value is not None and value != ():
                notice_renamed(old, new)
                kwargs[dest] = convert(value) if convert else value
            else:
                kwargs.setdefault(dest, None)  # ``dest`` may be the old option's alone (``--content``'s folder)
            return f(*args, **kwargs)

        return cast(F, click.option(old, legacy, default=None, hidden=True, **attrs)(run))

    return decorate


class NounGroup(click.Group):
    """A group named like the command it replaced (``consent key`` became ``consent key show``):
    called the old way, without one of its commands, it runs that command (see :func:`keep_old`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.old: str | None = None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if self.old is not None and (not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names)):
            args = [self.old, *args]
        return super().parse_args(ctx, args)


def keep_old(group: click.Group, command: click.Command, old: str, new: str) -> None:
    """Let ``o2ochain <old> …`` (the group's own old spelling) still run ``command`` (``new``)."""
    assert isinstance(group, NounGroup), "make the group with cls=NounGroup"
    alias = renamed(command, old, new)
    group.add_command(alias)
    group.old = alias.name
