"""Every address the command line takes is checked before any node is asked.

The commands are found by walking the command tree, so a new command that takes an address is
covered without being listed here: each is given a malformed address and one with a mistyped
EIP-55 checksum, against a node that does not answer. The refusal must be the input error
(exit 2, one line on stderr naming the option), never a connection error: a command that tried
to reach the node first would fail differently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from o2ochain import gs1
from o2ochain.cli import main
from o2ochain.cli._common import (
    AddressType,
    AmountType,
    ChoiceType,
    DurationType,
    GlnType,
    GtinType,
    HashType,
    InputType,
    MomentType,
    NumberType,
    PercentType,
    PublicKeyType,
    ReadType,
)
from o2ochain.cli._identity import ItemType
from o2ochain.cli._loop import VoucherType
from o2ochain.consent import public_key_of
from o2ochain.loop import Voucher
from tests.conftest import GTIN_A

NOWHERE = "http://127.0.0.1:1"  # nothing listens on port 1: any attempt to connect fails
GOOD = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
MALFORMED = "0xnotanaddress"
MISTYPED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"  # the last letter's case flipped


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``group``, hidden old spellings included (scripts still run them)."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def _label(param: click.Parameter) -> str:
    return max(param.opts, key=len) if isinstance(param, click.Option) else param.human_readable_name


def _sample(param: click.Parameter, files: Path) -> str:
    """A value of ``param``'s type that it accepts, for the parameters the test does not aim at."""
    kind = param.type
    samples: dict[type[InputType], str] = {
        AddressType: GOOD,
        AmountType: "1",
        DurationType: "1d",
        PercentType: "5%",
        HashType: "0x" + "11" * 32,
        GtinType: GTIN_A,
        GlnType: gs1.make_gln("9506000", 1),
        MomentType: "2026-01-01T00:00:00Z",
        PublicKeyType: "0x" + public_key_of(b"\x07" * 32).hex(),
        ItemType: f"https://id.gs1.org/01/{GTIN_A}/21/A1",
        VoucherType: Voucher(1, 0, 2, 1_000, 0, 0, 2**40 - 1, b"\x01" * 65).payload(),
    }
    for cls, text in samples.items():
        if isinstance(kind, cls):
            return text
    if isinstance(kind, NumberType):
        return str(max(kind.minimum, 1))
    if isinstance(kind, ChoiceType):
        return kind.choices[0]
    if isinstance(kind, ReadType):
        return {"purpose": "delivery", "category": "contact"}[kind.name]
    if isinstance(kind, InputType):  # a type of one command module (an item, a voucher …): none is required with an address
        raise AssertionError(f"give the test a sample of {type(kind).__name__}")
    if isinstance(kind, click.Choice):
        return str(kind.choices[0])
    if isinstance(kind, click.Path):
        target = files / f"sample-{param.name}"
        target.write_text("{}", encoding="utf-8")
        return str(target)
    return "x"


def _address_cases() -> list[tuple[tuple[str, ...], click.Command, click.Parameter]]:
    return [
        (path, command, param)
        for path, command in commands(main)
        for param in command.params
        if isinstance(param.type, AddressType)
    ]


CASES = _address_cases()


def test_the_walk_finds_every_address_parameter() -> None:
    """Not a vacuous pass: the commands of the issue are among those found, and many more."""
    found = {(" ".join(path), _label(param)) for path, _, param in CASES}
    assert len(found) > 25
    assert {
        ("brand add", "--admin"),
        ("item claim", "--owner"),
        ("claim", "--owner"),
        ("consent use", "CONSUMER"),
        ("guarantee channel add", "--key"),
        ("trace actor grant", "ADDRESS"),
        ("guarantee withdrawal announce", "--to"),
        ("guarantee withdraw", "--to"),
        ("brand seller grant", "ADDRESS"),
        ("brand grant-seller", "ADDRESS"),
        ("guarantee sale record", "--buyer"),
        ("deploy", "--admin"),
    } <= found


def _argv(path: tuple[str, ...], command: click.Command, target: click.Parameter | None, bad: str, files: Path) -> list[str]:
    """The command with ``bad`` for ``target`` first (so it is read first), then every other
    required value well formed, positionals in their order (``target=None``: all well formed)."""
    options: list[str] = []
    positionals: list[str] = []
    for param in command.params:
        if isinstance(param, click.Argument):
            if param is target:
                positionals.append(bad)
            elif param.required:
                positionals.append(_sample(param, files))
        elif param is target:
            options[:0] = [_label(param), bad]
        elif param.required:
            options += [_label(param), _sample(param, files)]
    if isinstance(target, click.Argument):
        return [*path, *positionals, *options]
    return [*path, *options, *positionals]


@pytest.mark.parametrize(("bad", "words"), [(MALFORMED, "is not an address"), (MISTYPED, "wrong EIP-55 checksum")])
@pytest.mark.parametrize(("path", "command", "param"), CASES, ids=[f"{' '.join(p)} {_label(q)}" for p, _, q in CASES])
def test_every_address_parameter_refuses_a_bad_address_before_connecting(
    path: tuple[str, ...], command: click.Command, param: click.Parameter, bad: str, words: str, tmp_path: Path
) -> None:
    argv = [*_argv(path, command, param, bad, tmp_path), "--rpc", NOWHERE, "--deployment", str(tmp_path / "none"), "--account", "dev:0"]
    result = CliRunner(mix_stderr=False).invoke(main, argv)
    lines = result.stderr.splitlines()
    assert result.exit_code == 2, (argv, result.stdout, result.stderr, result.exception)
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    label = _label(param)
    assert (f"option {label}: " if label.startswith("-") else f"argument {label}: ") in lines[0]
    assert words in lines[0] and "Traceback" not in result.stderr and result.stdout == ""


def test_a_bad_address_is_reported_as_json_with_its_option_when_asked() -> None:
    result = CliRunner(mix_stderr=False).invoke(main, ["guarantee", "sale", "record", "--buyer", MISTYPED, "--json", "--rpc", NOWHERE])
    assert result.exit_code == 2 and result.stderr == ""
    problem = json.loads(result.stdout)
    assert problem["error"] == "InputError" and problem["problem"]["field"] == "--buyer"
    assert "wrong EIP-55 checksum" in problem["problem"]["message"]


@pytest.mark.parametrize(
    ("argv", "where", "words"),
    [
        (["guarantee", "policy", "set", "--retailer", "1", "--max-payout", "abc"], "option --max-payout", "is not an amount"),
        (["guarantee", "policy", "set", "--retailer", "1", "--max-payout", "1", "--window", "soon"], "option --window", "not a duration"),
        (["guarantee", "policy", "set", "--retailer", "1", "--max-payout", "1", "--tolerance", "200%"], "option --tolerance", "between 0%"),
        (["guarantee", "channel", "rotate", "1", "--retailer", "1", "--key", "none", "--grace", "8d"], "option --grace", "at most 1 week"),
        (["guarantee", "retailer", "show", "0"], "argument RETAILER", "at least 1"),
        (["guarantee", "price", "publish", "09506000134353", "1"], "argument GTIN", "check digit"),
        (["guarantee", "pool", "fund", "1,5", "--retailer", "1"], "argument AMOUNT", "a dot for decimals"),
        (["item", "recall", "0x1234", "--reason", "1"], "argument ITEM", "item"),
        (["item", "recall", f"https://id.gs1.org/01/{GTIN_A}/21/A1", "--reason", "1", "--document", "0x12"], "option --document", "hex digits"),
        (["review", "vote", "0x1234"], "argument REVIEW", "not a review id"),
        (["trace", "record", "urn:x", "--biz-step", "shipping", "--time", "2026-01-01T08:00"], "option --time", "no UTC offset"),
        (["trace", "actor", "grant", GOOD, "--brand", "1", "--kind", "farm", "--gln", "9506000000016"], "option --gln", "check digit"),
        (["consent", "grant", GOOD, "--purpose", "delivery", "--category", "contact", "--to", "zz"], "option --to", "is not hex"),
        (["coupon", "issue", "1", "--count", "1", "--percent", "ten", "-o", "v.jsonl"], "option --percent", "not a percentage"),
        (["coupon", "redeem", "o2ochain:voucher:xyz"], "argument VOUCHER", "damaged"),
        (["consent", "use", GOOD, "--purpose", "marketting", "--category", "contact", "--request", "r"], "option --purpose", "unknown purpose"),
        (["item", "register", "items.csv", "--batch-size", "0"], "option --batch-size", "at least 1"),
        (["trace", "actor", "grant", GOOD, "--brand", "1", "--kind", "spaceship"], "option --kind", "not one of farm, plant"),
        (["guarantee", "channel", "add", "--retailer", "1", "--kind", "blimp", "--key", GOOD], "option --kind", "not one of"),
        (["review", "report", "0x" + "ab" * 32, "--reason", "boring"], "option --reason", "not one of"),
        (["merchant", "publish", "1", "--name", "Shop", "--lat", "91"], "option --lat", "between -90 and 90"),
        (["keeper", "--interval", "0"], "option --interval", "at least 0.1 s"),
    ],
)
def test_every_kind_of_value_is_refused_in_one_line_before_connecting(argv: list[str], where: str, words: str) -> None:
    result = CliRunner(mix_stderr=False).invoke(main, [*argv, "--rpc", NOWHERE, "--account", "dev:0"])
    lines = result.stderr.splitlines()
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert len(lines) == 1 and f"error: {where}: " in lines[0] and words in lines[0], lines
