"""Sales and quotes from files: the CSV a till exports, the JSON quotes a keeper is given."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from web3 import Web3

from o2ochain.errors import InputError, InputErrors
from o2ochain.guarantee._terms import _U96, Offer, Sale, gtin_number, receipt_hash

SALES_COLUMNS = ("buyer", "gtin", "quantity", "unit_price", "receipt")


def _sale(buyer: str, gtin: str | int, quantity: int, unit_price: int, receipt: str | bytes) -> Sale:
    if not Web3.is_address(buyer) or int(buyer, 16) == 0:
        raise InputError(f"{buyer!r} is not a buyer address", field="buyer", value=buyer)
    if not 1 <= quantity < 2**32:
        raise InputError("the quantity must be at least 1", field="quantity", value=quantity)
    if not 0 < unit_price < _U96:
        raise InputError("the unit price must be positive", field="unit_price", value=unit_price)
    return Sale(Web3.to_checksum_address(buyer), gtin_number(gtin), quantity, unit_price, receipt_hash(receipt))


def read_sales_csv(path: Path, to_units: Callable[[str], int]) -> list[Sale]:
    """Sales from a CSV with columns buyer, gtin, quantity, unit_price, receipt (header first).

    Every row is checked before anything is sent; every bad row is reported with its line and
    field (InputErrors), so a bad file writes nothing. ``to_units`` turns a decimal price into
    base units. A receipt number appearing twice is an error: one receipt is one purchase.
    """
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=name) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _read_sales(reader, name, to_units)
    except csv.Error as exc:  # a stray quote or carriage return, a field beyond the csv module's limit
        raise InputError(f"not a readable CSV file: {exc}", file=name, line=reader.line_num or 1) from None


def _read_sales(reader: csv.DictReader[str], name: str, to_units: Callable[[str], int]) -> list[Sale]:
    if reader.fieldnames is None:
        raise InputError("the file is empty: expected a header line with " + ", ".join(SALES_COLUMNS), file=name, line=1)
    header = [h.strip().lower() for h in reader.fieldnames]
    missing = [c for c in SALES_COLUMNS if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (expected {', '.join(SALES_COLUMNS)})", file=name, line=1)
    reader.fieldnames = header
    errors: list[InputError] = []
    sales: list[Sale] = []
    receipts: dict[bytes, int] = {}
    for row in reader:
        line = reader.line_num
        try:
            quantity_text = (row.get("quantity") or "").strip()
            if not quantity_text.isdigit():
                raise InputError(
                    "the quantity must be a whole number of at least 1", file=name, line=line, field="quantity", value=quantity_text
                )
            try:
                unit_price = to_units((row.get("unit_price") or "").strip())
            except InputError as exc:
                raise InputError(exc.message, file=name, line=line, field="unit_price") from None
            gtin = gtin_number((row.get("gtin") or "").strip(), file=name, line=line)
            sale = _sale((row.get("buyer") or "").strip(), gtin, int(quantity_text), unit_price, (row.get("receipt") or "").strip())
        except InputErrors as exc:
            errors.extend(exc.errors)
            continue
        except InputError as exc:
            errors.append(InputError(exc.message, file=name, line=exc.line or line, field=exc.field, value=exc.value))
            continue
        if sale.receipt in receipts:
            errors.append(
                InputError(
                    f"receipt repeats line {receipts[sale.receipt]}: one receipt is one purchase", file=name, line=line, field="receipt"
                )
            )
            continue
        receipts[sale.receipt] = line
        sales.append(sale)
    if errors:
        raise InputErrors(errors)
    if not sales:
        raise InputError("the file has a header but no sales", file=name, line=2)
    return sales


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
