"""How commands show what they found, in text mode (``--json`` prints raw values instead).

- **Consoles.** :class:`Stdout` never wraps a line when stdout is not a terminal, so an id or a
  URI piped to another program or a file stays whole on its line; on a terminal it wraps at words
  as rich does.
- **Values in words.** Chain times as ``2027-05-30 12:13 UTC`` (:func:`when`, :func:`day`),
  durations as ``1 day 12 hours`` (:func:`span`); amounts go through the currency's decimals and
  symbol (``GuaranteeReader.money``), never in base units.
- **Records.** :func:`fields` prints aligned ``key  value`` lines (no table, so nothing is ever
  cut or folded, however long an id); :func:`table` makes a rich table for rows without long ids.
  A command with nothing to show says so in a sentence.
- **Progress.** :class:`Stages` shows one bar per stage of a long job on stderr, only when stderr
  is a terminal and never with ``--json``; each bar's total is known when its stage starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # rich.progress is imported by the commands that draw bars (Stages), when they do
    from rich.progress import Progress, TaskID

T = TypeVar("T")

#: The width of stdout when it is not a terminal: wide enough that rich never wraps a line.
PIPED_WIDTH = 100_000


class Stdout(Console):
    """The console of stdout: as wide as the terminal when it is one, else :data:`PIPED_WIDTH`.

    Rich otherwise wraps piped output at the width of whichever standard stream is a terminal (or
    at 80 columns), which breaks a 66-character id in two for the program reading it.
    """

    @property
    def size(self) -> ConsoleDimensions:
        if self._on_a_tty():
            return super().size
        return ConsoleDimensions(PIPED_WIDTH, super().size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        width, height = new_size
        self._width = width
        self._height = height

    def _on_a_tty(self) -> bool:
        """Whether stdout itself is a terminal (not FORCE_COLOR's say-so: colours may be forced
        into a pipe, which must still not wrap)."""
        isatty = getattr(self.file, "isatty", None)
        try:
            return bool(isatty is not None and isatty())
        except ValueError:  # a closed file
            return False


#: Where results go (stdout) and where messages and progress go (stderr).
out = Stdout()
err = Console(stderr=True)


# -- values in words ------------------------------------------------------------------------
def when(moment: int | datetime | None, *, never: str = "—") -> str:
    """A chain time (unix seconds) or a datetime as ``2027-05-30 12:13 UTC``; ``never`` for none (0)."""
    if moment is None or (isinstance(moment, int) and moment <= 0):
        return never
    at = datetime.fromtimestamp(moment, UTC) if isinstance(moment, int) else moment.astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%M UTC")


def local_time(moment: datetime | str) -> str:
    """A time in the zone it was given in (an EPCIS event's own): ``2026-11-02 06:00 +08:00``."""
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    offset = at.strftime("%z")
    zone = "UTC" if offset in ("", "+0000") else f"{offset[:3]}:{offset[3:]}"
    return f"{at:%Y-%m-%d %H:%M} {zone}"


def short(hex_id: str) -> str:
    """An address or id cut to its ends for a table cell (``0x5aAe…eAed``); print it whole elsewhere."""
    return hex_id if len(hex_id) <= 14 else f"{hex_id[:6]}…{hex_id[-4:]}"


def day(moment: int | datetime | None, *, never: str = "—") -> str:
    """The UTC day of a chain time (unix seconds) or a datetime, ``2027-05-30``."""
    return when(moment, never=never)[:10] if moment else never


def span(seconds: int | float) -> str:
    """A duration in words: ``30 days``, ``1 day 12 hours``, ``90 minutes`` is ``1 hour 30 minutes``."""
    left = round(seconds)
    if left <= 0:
        return "no time"
    parts: list[str] = []
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        n, left = divmod(left, size)
        if n:
            parts.append(f"{n:,} {unit}{'' if n == 1 else 's'}")
    return " ".join(parts)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 event``, ``2 events``, ``3 entries`` (``many`` for irregular plurals)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


# -- records and tables ---------------------------------------------------------------------
def fields(rows: Sequence[tuple[str, Any]], *, console: Console | None = None, indent: int = 0) -> None:
    """Aligned ``key  value`` lines; a value of ``None`` leaves its line out.

    Values are printed as they are (no markup), on one line each, never wrapped by rich.
    """
    shown = [(k, str(v)) for k, v in rows if v is not None]
    if not shown:
        return
    target = console or out
    width = max(len(k) for k, _ in shown)
    for key, value in shown:
        target.print(f"{' ' * indent}[dim]{escape(key.ljust(width))}[/]  {escape(value)}", soft_wrap=True, highlight=False)


def table(*columns: str, title: str | None = None) -> Table:
    """A table of short values (no full ids: :func:`fields` shows those), headers as given."""
    grid = Table(title=title, title_justify="left", title_style="bold")
    for name in columns:
        grid.add_column(name)
    return grid


# -- progress -------------------------------------------------------------------------------
class Stages:
    """One progress bar per stage of a long job, each created with its total, all on stderr.

    ::

        with Stages(as_json=ctx.as_json) as stages:
            tick = stages.stage("signing vouchers", len(indices))
            for index in indices:
                ...
                tick()

    ``stage`` returns a function taking how many more are done (or, with ``done=``, how many are
    done in all); :meth:`report` takes a library's ``(stage, done, total)``. A stage left before
    its total is reached shows where it stopped. With ``--json``, or when the console (stderr) is
    not a terminal, nothing is drawn and the functions do nothing.
    """

    def __init__(self, *, as_json: bool, console: Console | None = None) -> None:
        self._console = console or err
        self.enabled = not as_json and self._console.is_terminal
        self._progress: Progress | None = None
        self._named: dict[str, Callable[..., None]] = {}

    def __enter__(self) -> Stages:
        if self.enabled:  # drawn from the first stage on, so nothing is drawn before there is one
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self._console,
                transient=False,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def stage(self, label: str, total: int) -> Callable[..., None]:
        """Start a stage of ``total`` steps; returns ``tick(n=1, *, done=None)``."""
        progress = self._progress
        if progress is None:
            return _nothing
        if not progress.live.is_started:
            progress.start()
        task: TaskID = progress.add_task(label, total=max(total, 0))

        def tick(n: int = 1, *, done: int | None = None, total: int | None = None) -> None:
            if done is not None:
                progress.update(task, completed=done, total=total)
            else:
                progress.advance(task, n)

        return tick

    def report(self, label: str, done: int, total: int) -> None:
        """``(stage, done, total)`` as the library tells it: a stage's bar starts at its first report."""
        if label not in self._named:
            self._named[label] = self.stage(label, total)
        self._named[label](done=done, total=total)

    def each(self, label: str, items: Sequence[T]) -> Iterator[T]:
        """The items, advancing a stage of ``len(items)`` steps as each is taken."""
        tick = self.stage(label, len(items))
        for item in items:
            yield item
            tick()


def _nothing(*_args: object, **_kwargs: object) -> None:
    return None
