"""The command line's naming scheme, checked on the command tree itself (README, "Command line
conventions"): `o2ochain NOUN [NOUN] VERB [THING] [--SCOPE N]`, one spelling per concept, and every
old spelling still working, hidden, with a notice of its new name."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from o2ochain.cli import main
from o2ochain.cli._common import IdType, InputType, NounGroup
from tests.cli.test_inputs_cli import _argv, _label

#: The programs that act on a whole installation rather than on one kind of thing.
PROGRAMS = {"deploy", "demo", "keeper", "serve"}

#: The verbs commands are named by. A new command takes one of these, or adds its verb here
#: (a verb, never a noun: `guarantee purchase list`, not `guarantee purchases`).
VERBS = {
    "add", "announce", "audit", "cancel", "claim", "decommission", "edit", "end", "execute", "export", "fund", "grant",
    "import", "issue", "list", "lodge", "open", "publish", "quote", "recall", "record", "redeem", "register", "relay",
    "release", "reply", "report", "revoke", "rotate", "set", "show", "sign", "use", "verify", "vote", "withdraw", "write",
}  # fmt: skip

#: Spellings retired for another of the same concept; each lives on only as a hidden alias.
RETIRED = {"--batch": "--batch-size", "--content": "--store", "--valid-days": "--for", "--address": "--street"}


def visible(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in group.commands.items():
        if command.hidden:
            continue
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from visible(command, (*path, name))


def every(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command, click.Group]]:
    for name, command in group.commands.items():
        yield (*path, name), command, group
        if isinstance(command, click.Group):
            yield from every(command, (*path, name))


def params() -> Iterator[tuple[str, click.Parameter]]:
    for path, command in visible(main):
        for param in command.params:
            if not (isinstance(param, click.Option) and param.hidden):
                yield " ".join(path), param


def test_the_top_level_holds_nouns_and_the_three_programs() -> None:
    top = {name: command for name, command in main.commands.items() if not command.hidden}
    assert {name for name, command in top.items() if not isinstance(command, click.Group)} == PROGRAMS
    assert not (set(top) - PROGRAMS) & VERBS


def test_every_command_is_one_verb_and_every_group_a_noun() -> None:
    for path, command in visible(main):
        if len(path) == 1 and path[0] in PROGRAMS:
            continue
        name = path[-1]
        if isinstance(command, click.Group):
            assert name not in VERBS, f"`{' '.join(path)}` is a group named by a verb: name it by the thing it holds"
        else:
            assert name in VERBS, f"`{' '.join(path)}`: a command is one verb (add it to VERBS if it is one)"
        assert command.help or command.callback.__doc__, f"`{' '.join(path)}` says nothing in --help"  # type: ignore[union-attr]


def test_a_thing_is_named_the_same_as_scope_and_as_positional() -> None:
    """The number of a brand, retailer, channel, merchant or campaign: `--brand N` as the scope,
    `BRAND` as the thing acted on; never `--brand-id`, never `RETAILER_ID`."""
    things = 0
    for where, param in params():
        if isinstance(param.type, IdType):
            things += 1
            thing = param.type.thing
            assert param.name == f"{thing}_id", where
            if isinstance(param, click.Option):
                assert param.opts == [f"--{thing}"], (where, param.opts)
            else:
                assert param.human_readable_name == thing.upper(), (where, param.human_readable_name)
        else:
            spelled = param.opts if isinstance(param, click.Option) else [param.human_readable_name]
            assert not any(s.lower().endswith(("-id", "_id")) for s in spelled), (where, spelled)
    assert things > 20


#: One word, one concept, two forms: the chain stores a recall's reason as the brand's own code
#: (a number from its recall code list), a review report's as one of the board's fixed words.
TWO_FORMS = {"--reason": "a recall code (a number) or a report reason (a word)"}


def test_one_spelling_per_concept_and_one_concept_per_spelling() -> None:
    """An option spelled the same anywhere is read the same way (its o2ochain.inputs type), and
    a parameter is spelled one way everywhere; the retired spellings are not offered."""
    kinds: dict[str, set[str]] = defaultdict(set)
    spellings: dict[str, set[str]] = defaultdict(set)
    for where, param in params():
        if not isinstance(param, click.Option):
            continue
        flag = _label(param)
        assert flag not in RETIRED, f"{where}: {flag} was retired for {RETIRED[flag]}"
        assert not flag.endswith(("-days", "-seconds", "-wei")), f"{where}: {flag}: the unit goes in the value (30d, 1.5)"
        if isinstance(param.type, InputType):
            kinds[flag].add(type(param.type).__name__)
        spellings[param.name or ""].add(flag)
    assert {flag: k for flag, k in kinds.items() if len(k) > 1 and flag not in TWO_FORMS} == {}
    assert all(len(kinds[flag]) == 2 for flag in TWO_FORMS), "an exception below is no longer needed: remove it"
    assert {name: s for name, s in spellings.items() if len(s) > 1} == {}
    for flag in ("--brand", "--retailer", "--merchant", "--store", "--batch-size", "--for", "--buyer", "--gtin"):
        assert flag in kinds or flag in {f for s in spellings.values() for f in s}, flag


def _old_spellings() -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for path, command, parent in every(main):
        if command.hidden and not isinstance(command, click.Group):
            # `consent key`: the group runs its old command when called without one of its own
            found.append((path[:-1] if isinstance(parent, NounGroup) and parent.old == path[-1] else path, command))
    return found


OLD = _old_spellings()


@pytest.mark.parametrize(("path", "command"), OLD, ids=[" ".join(p) for p, _ in OLD])
def test_every_old_command_spelling_still_runs_and_names_its_new_one(path: tuple[str, ...], command: click.Command, tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("gtin,serial,lot\n", encoding="utf-8")
    argv = _argv(path, command, None, "", tmp_path)
    result = CliRunner(mix_stderr=False).invoke(
        main, [*argv, "--rpc", "tester", "--deployment", str(tmp_path / "none"), "--account", "dev:0"]
    )
    first = result.stderr.splitlines()[0] if result.stderr else ""
    assert first.startswith(f"note: `o2ochain {' '.join(path)}") and "` is now `o2ochain " in first, (argv, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 2  # the notice, then the one-line error
    assert len(OLD) >= 20


@pytest.mark.parametrize(
    ("argv", "old", "new"),
    [
        (["guarantee", "sale", "import", "sales.csv", "--batch", "5"], "--batch", "--batch-size"),
        (["review", "list", "--gtin", "09506000134352", "--content", "content"], "--content", "--store"),
        (["merchant", "publish", "1", "--name", "Shop", "--address", "8 Zhongshan Road"], "--address", "--street"),
        (
            [
                "consent",
                "grant",
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                "--purpose",
                "delivery",
                "--category",
                "contact",
                "--valid-days",
                "30",
            ],
            "--valid-days",
            "--for",
        ),
    ],
)
def test_every_old_option_spelling_still_works_and_names_its_new_one(argv: list[str], old: str, new: str, tmp_path: Path) -> None:
    result = CliRunner(mix_stderr=False).invoke(
        main, [*argv, "--rpc", "tester", "--deployment", str(tmp_path / "none"), "--account", "dev:0"]
    )
    assert result.stderr.splitlines()[0] == f"note: `{old}` is now `{new}` (the old spelling will go)", result.stderr
    assert "Traceback" not in result.stderr


#: Every command that talks to a chain, but `deploy`, which needs no deployment (it makes one).
RUNNABLE = [(path, command) for path, command in visible(main) if any(p.name == "rpc" for p in command.params) and path != ("deploy",)]


@pytest.mark.parametrize(("path", "command"), RUNNABLE, ids=[" ".join(p) for p, _ in RUNNABLE])
def test_every_command_reads_its_values_and_fails_cleanly_without_a_deployment(
    path: tuple[str, ...], command: click.Command, tmp_path: Path
) -> None:
    """Every command, given well-formed values, gets as far as asking for the deployment: what
    it was given reaches its code under the names it expects (a renamed option included)."""
    argv = _argv(path, command, None, "", tmp_path)
    result = CliRunner(mix_stderr=False).invoke(
        main, [*argv, "--rpc", "tester", "--deployment", str(tmp_path / "none"), "--account", "dev:0"]
    )
    assert isinstance(result.exception, SystemExit) and result.exit_code in (1, 2), (argv, result.stderr, result.exception)
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr, (argv, result.stderr)


# --------------------------------------------------------------------------------------------
# Commands load what they use


def test_every_lazily_listed_command_is_the_command_of_that_name() -> None:
    from o2ochain.cli import _COMMANDS

    loaded = main.commands  # reading the whole list loads every module
    assert set(loaded) == set(_COMMANDS)
    assert all(command.name == name for name, command in loaded.items())


#: What the command line loads only once a command connects or signs: web3 and what it brings
#: (aiohttp, requests, eth-account, eth-utils with pydantic) take most of a second to import.
CHAIN_SIDE = ["web3", "aiohttp", "requests", "eth_account", "eth_utils", "pydantic", "o2ochain.client", "o2ochain._chain.connection"]


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (
            ["trace", "show", "--help"],
            ["o2ochain.consent", "o2ochain.guarantee", "o2ochain.loop", "o2ochain.cli._guarantee", "ecies", "rich.progress", *CHAIN_SIDE],
        ),
        # a value refused while the command line is read: one line on stderr, before any import of the chain side
        (["trace", "record", "urn:epc:id:sgtin:9506000.134352.1", "--biz-step", "shipping", "--time", "yesterday"], CHAIN_SIDE),
        (["item", "verify", "--help"], ["o2ochain.consent", "o2ochain.guarantee", "o2ochain.loop", "o2ochain.cli._trace", *CHAIN_SIDE]),
        (["--version"], ["web3", "o2ochain.client"]),
    ],
)
def test_a_command_imports_only_what_it_uses(argv: list[str], absent: list[str]) -> None:
    """`o2ochain trace show` on a shop's till answers in well under a second: its imports are
    most of that, so a command must not import the other groups (ECIES, the guarantee, …), nor
    the chain side before it connects (`--help`, a refused value)."""
    import subprocess
    import sys

    probe = (
        "import sys\nfrom o2ochain.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted(name for name in {absent!r} if name in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_the_library_path_of_trace_show_loads_no_xml_and_no_process_pool() -> None:
    """A history is read from JSON and logs: lxml (the EPCIS XML side) and multiprocessing (the QR
    codes' worker pool) are imported only by what uses them."""
    import subprocess
    import sys

    probe = (
        "import sys, o2ochain.cli._trace, o2ochain.client, o2ochain.trace\n"
        "print(sorted(m for m in ('lxml', 'multiprocessing', 'rich.progress') if m in sys.modules), 'o2ochain.epcis' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "[] True"


def test_a_reply_whose_text_the_chain_does_not_confirm_is_said_so_not_printed_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """A merchant's reply whose log the chain did not confirm (a tampered index) or whose text is
    missing has no text; the review list says so in words rather than printing "None"."""
    import io

    from rich.console import Console

    from o2ochain.cli import _loop
    from o2ochain.loop import Review, ReviewList

    shown = io.StringIO()
    monkeypatch.setattr(_loop, "out", Console(file=shown, width=200, color_system=None))
    review = Review(b"\x01" * 32, "0x" + "ab" * 20, "product", 9506000000107, 1, 4, 1, b"\x02" * 32, "", b"\x00" * 32, 1_780_000_000)
    review.text = "Crisp."
    review.replies = [{"text": None, "confirmed": False, "uri": None}, {"text": "Thank you!", "confirmed": True, "uri": "content/x"}]
    _loop._print_reviews(ReviewList([review]), "this product")
    printed = shown.getvalue()
    assert "merchant reply: text unavailable or altered" in printed and "merchant reply: Thank you!" in printed
    assert "None" not in printed
