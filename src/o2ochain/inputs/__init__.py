"""One input layer for the command line and the library alike: every value a person types or a
file holds is read here, checked, and refused with an :class:`~o2ochain.errors.InputError` that
names where it came from (an option, or a file's line and field) — before any node is asked.

    >>> from o2ochain import inputs
    >>> inputs.address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "--to")
    '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'

CSV files, every one the project reads, stream through :class:`CsvReader`: delimiter and
byte-order mark sniffed, header names matched to :class:`Column` s, every problem of every row
collected in a :class:`Problems` with its file, line and field, in constant memory.
"""

from o2ochain.inputs._csv import Column, CsvReader, Problems, sniff_delimiter
from o2ochain.inputs._values import (
    Amount,
    Where,
    address,
    amount,
    bytes32,
    day,
    decimal_amount,
    duration,
    format_amount,
    integer,
    moment,
    percent,
)

__all__ = [
    "Amount",
    "Column",
    "CsvReader",
    "Problems",
    "Where",
    "address",
    "amount",
    "bytes32",
    "day",
    "decimal_amount",
    "duration",
    "format_amount",
    "integer",
    "moment",
    "percent",
    "sniff_delimiter",
]
