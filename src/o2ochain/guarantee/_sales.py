"""Sales and quotes from files: the CSV a till exports, the JSON quotes a keeper is given."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from o2ochain import inputs
from o2ochain.errors import InputError
from o2ochain.guarantee._terms import _U96, Offer, Sale, gtin_number, receipt_hash
from o2ochain.inputs import Column, CsvReader, Problems, Where

SALES_COLUMNS = ("buyer", "gtin", "quantity", "unit_price", "receipt")
_COLUMNS = tuple(Column(name) for name in SALES_COLUMNS)


def _sale(buyer: str, gtin: str | int, quantity: int, unit_price: int, receipt: str | bytes) -> Sale:
    """A sale given from Python, checked as a row of a sales file is."""
    address = inputs.address(buyer, "buyer")
    if not 1 <= quantity < 2**32:
        raise InputError("the quantity must be at least 1", field="quantity", value=quantity)
    if not 0 < unit_price < _U96:
        raise InputError("the unit price must be positive", field="unit_price", value=unit_price)
    return Sale(address, gtin_number(gtin), quantity, unit_price, receipt_hash(receipt))


def read_sales_csv(path: Path, to_units: Callable[[str], int], *, max_errors: int = 1000) -> list[Sale]:
    """Sales from a CSV with columns buyer, gtin, quantity, unit_price, receipt (header first).

    Every row is checked before anything is sent, and every problem of every row is reported
    with its line and field (InputErrors), so a bad file writes nothing. The buyer is the
    address compensation is paid to: one in mixed case must carry its EIP-55 checksum exactly.
    ``to_units`` turns a decimal price into base units. A receipt number appearing twice is an
    error: one receipt is one purchase. The file is read by :class:`o2ochain.inputs.CsvReader`.
    """
    name = str(path)
    problems = Problems(name, limit=max_errors)
    sales: list[Sale] = []
    receipts: dict[bytes, int] = {}
    for line, (buyer, gtin, quantity, price, receipt) in CsvReader(path, _COLUMNS, problems):
        sale = _row(name, line, problems, to_units, buyer, gtin, quantity, price, receipt)
        if sale is None:
            continue
        first = receipts.setdefault(sale.receipt, line)
        if first != line:
            problems.add(f"receipt repeats line {first}: one receipt is one purchase", line, "receipt", receipt)
            continue
        sales.append(sale)
    if not sales and not problems:
        problems.fatal("the file has a header but no sales", 2)
    problems.raise_if_any()
    return sales


def _row(
    name: str,
    line: int,
    problems: Problems,
    to_units: Callable[[str], int],
    buyer: str,
    gtin: str,
    quantity: str,
    price: str,
    receipt: str,
) -> Sale | None:
    """One row as a :class:`Sale`, or None after reporting every problem it has."""
    found = len(problems)
    address, number, units, unit_price, handle = "", 0, 0, 0, b""
    try:
        address = inputs.address(buyer, Where("buyer", name, line))
    except InputError as exc:
        problems.relocate(exc, line, "buyer")
    try:
        number = gtin_number(gtin, file=name, line=line)
    except InputError as exc:
        problems.relocate(exc, line, "gtin")
    try:
        units = inputs.integer(quantity, Where("quantity", name, line), minimum=1, maximum=2**32 - 1, what="quantity")
    except InputError as exc:
        problems.relocate(exc, line, "quantity")
    try:
        unit_price = to_units(price)
        if not 0 < unit_price < _U96:
            raise InputError("the unit price must be positive", value=price)
    except InputError as exc:
        problems.relocate(InputError(exc.message, line=exc.line, field="unit_price", value=exc.value), line)
    try:
        handle = receipt_hash(receipt)
    except InputError as exc:
        problems.relocate(exc, line, "receipt")
    if len(problems) != found:
        return None
    return Sale(address, number, units, unit_price, handle)


def load_quotes(path: Path) -> list[Offer]:
    """Signed quotes from a file: one JSON object per line (JSON Lines) or a JSON array."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=name) from None
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc.msg}", file=name, line=exc.lineno) from None
        except RecursionError:
            raise InputError("not JSON we read: nested too deeply", file=name) from None
        return [Offer.quote_from_json(item, where=name) for item in items]
    out: list[Offer] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc.msg}", file=name, line=number) from None
        except RecursionError:
            raise InputError("not JSON we read: nested too deeply", file=name, line=number) from None
        try:
            out.append(Offer.quote_from_json(data, where=name))
        except InputError as exc:
            raise InputError(exc.message, file=name, line=number, field=exc.field, value=exc.value) from None
    return out
