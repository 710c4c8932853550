"""Contract refusals in words: each custom error's NatSpec ``@notice`` filled with its arguments.

Our contracts say what every error means in a ``@notice``; tools/build.py keeps those in
``abi/Errors.json``. OpenZeppelin's errors carry developer notes at most, so their words are
written here (:data:`OPENZEPPELIN`). A notice names its arguments in backticks ("`retailer` has
not been registered"); each becomes its value as people read it:

- ids of the contracts' value types with their noun: ``brand 1``, ``retailer 99``, ``channel 2``,
  ``policy 3``; a 32-byte id (item, lot, purchase, review, trace subject) as the Digital Link this
  process made it from (:func:`remember`), else in hex after its noun (``purchase 0x…``);
- role ids by name (``the registrant role of brand 1``), addresses checksummed, GTINs in their
  14 digits, times as UTC dates, YYMMDD expiry dates as dates, lot and serial codes as text, codes
  by the names their concern gives them (:func:`name_codes`: purposes, categories, statuses).

A noun the notice already says right before an argument is not said twice ("retailer `given`"
reads "retailer 3"); an argument the notice does not mention is added at its end, so
nothing the contract reported is lost; ``{function}`` cross-references read as the function's name.
The Solidity name stays the exception's class and ``error_name``; these words are its message.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from o2ochain._chain.util import keccak256

# eth-utils (addresses) is imported where an address is put in words: it brings pydantic and
# takes a tenth of a second, which reading a Digital Link (gs1 imports this module) should not cost.

__all__ = ["OPENZEPPELIN", "derived_role", "describe", "jsonable", "name_codes", "notice", "remember", "role_words"]

#: OpenZeppelin's errors in words (theirs are notes for developers, where there are any). Every
#: argument in backticks, as in our contracts' notices.
OPENZEPPELIN: Mapping[str, str] = {
    "AccessControlBadConfirmation": "A role can be renounced only by its holder, for itself: the account confirmed is not the caller.",
    "AccessControlUnauthorizedAccount": "`account` does not hold `neededRole`.",
    "AddressEmptyCode": "There is no contract at `target`.",
    "ECDSAInvalidSignature": "The signature is invalid: no signer can be recovered from it.",
    "ECDSAInvalidSignatureLength": "The signature is `length` bytes long; a signature has 64 or 65.",
    "ECDSAInvalidSignatureS": "The signature is malleable (its s value `s` is in the upper half of the curve order).",
    "ERC1155InsufficientBalance": "`sender` holds `balance` of token `tokenId`, less than the `needed`.",
    "ERC1155InvalidApprover": "`approver` cannot approve an operator.",
    "ERC1155InvalidArrayLength": "`idsLength` token ids came with `valuesLength` amounts: they must pair up.",
    "ERC1155InvalidOperator": "`operator` cannot be approved as an operator.",
    "ERC1155InvalidReceiver": "`receiver` cannot receive the tokens.",
    "ERC1155InvalidSender": "`sender` cannot send tokens.",
    "ERC1155MissingApprovalForAll": "`operator` is not approved to move the tokens of `owner`.",
    "ERC20InsufficientAllowance": "`spender` may spend only `allowance` of the token; `needed` is needed.",
    "ERC20InsufficientBalance": "`sender` holds only `balance` of the token; `needed` is needed.",
    "ERC20InvalidApprover": "`approver` cannot approve a spender.",
    "ERC20InvalidReceiver": "`receiver` cannot receive the token.",
    "ERC20InvalidSender": "`sender` cannot send the token.",
    "ERC20InvalidSpender": "`spender` cannot be approved to spend the token.",
    "ERC2771ForwarderExpiredRequest": "The relayed request expired at `deadline`.",
    "ERC2771ForwarderInvalidSigner": "The relayed request says it is from `from`, but `signer` signed it.",
    "ERC2771ForwarderMismatchedValue": "The relayed request asks for `requestedValue` wei, but `msgValue` wei came with it.",
    "ERC2771ForwarderNoRefundReceiver": "A request of the relayed batch failed and the batch names no one to refund its value to.",
    "ERC2771UntrustfulTarget": "`target` does not take relayed requests from the forwarder `forwarder`.",
    "ERC5267ExtensionsNotSupported": "The signing domain uses EIP-712 extensions, which are not supported.",
    "ERC721IncorrectOwner": "`sender` does not own token `tokenId`: `owner` does.",
    "ERC721InsufficientApproval": "`operator` is not approved to move token `tokenId`.",
    "ERC721InvalidApprover": "`approver` cannot approve.",
    "ERC721InvalidOperator": "`operator` cannot be approved as an operator.",
    "ERC721InvalidOwner": "`owner` cannot own tokens.",
    "ERC721InvalidReceiver": "`receiver` cannot receive the token.",
    "ERC721InvalidSender": "`sender` cannot send tokens.",
    "ERC721NonexistentToken": "Token `tokenId` does not exist.",
    "FailedCall": "A call to another contract failed (it may have refused without a reason).",
    "FailedDeployment": "Deploying a contract failed.",
    "InsufficientBalance": "The contract holds `balance` wei, less than the `needed` wei.",
    "InvalidAccountNonce": "The nonce given for `account` is not its next one, `currentNonce`: a signature was used already or out of turn.",
    "InvalidShortString": "A short string is longer than 31 bytes.",
    "MerkleProofInvalidMultiproof": "The Merkle multiproof is malformed.",
    "MissingPrecompile": "This chain has no precompiled contract at `arg0`.",
    "ReentrancyGuardReentrantCall": "A call came back into the contract while it was still busy (re-entrancy), and was refused.",
    "SafeCastOverflowedIntDowncast": "`value` does not fit in a signed integer of `bits` bits.",
    "SafeCastOverflowedIntToUint": "`value` is negative where a number of zero or more is needed.",
    "SafeCastOverflowedUintDowncast": "`value` does not fit in an unsigned integer of `bits` bits.",
    "SafeCastOverflowedUintToInt": "`value` does not fit in a signed 256-bit integer.",
    "SafeERC20FailedDecreaseAllowance": "The allowance of `spender` is `currentAllowance`, less than the decrease asked for, `requestedDecrease`.",
    "SafeERC20FailedOperation": "The token `token` refused a transfer or an approval (or did not confirm it).",
    "StringTooLong": "The text `str` is too long.",
    "StringsInsufficientHexLength": "`value` does not fit in `length` hex digits.",
    "StringsInvalidAddressFormat": "The text is not an address in hex.",
    "StringsInvalidChar": "The text holds a character that is not allowed there.",
}

#: The nouns of the contracts' id types (their ``internalType``), said before the number.
_ID_NOUNS: Mapping[str, str] = {
    "BrandId": "brand",
    "RetailerId": "retailer",
    "ChannelId": "channel",
    "PolicyId": "policy",
    "PurchaseId": "purchase",
    "ReviewId": "review",
    "ItemId": "item",
    "LotId": "lot",
}
#: Arguments that are moments (unix seconds), whatever the error.
_MOMENTS = frozenset(
    {
        "now",
        "at",
        "deadline",
        "expiry",
        "validFrom",
        "validUntil",
        "claimableAt",
        "closesAt",
        "closedAt",
        "executableAt",
        "purchasedAt",
        "offeredFrom",
        "offeredUntil",
        "windowStart",
        "windowEnd",
    }
)
#: How some arguments read, by (error, argument): where the name alone would mislead.
_SPECIAL: Mapping[tuple[str, str], str] = {
    ("GuaranteeProductMismatch", "expected"): "gtin",
    ("GuaranteeProductMismatch", "given"): "gtin",
    ("IdentityExpiryInvalid", "expiry"): "yymmdd",
    ("IdentityLotExpiryMismatch", "expiry"): "yymmdd",
    ("IdentityLotExpiryMismatch", "given"): "yymmdd",
    ("GuaranteeKeyGraceInvalid", "grace"): "number",  # the notice says "`grace` seconds"
    ("GuaranteeKeyGraceInvalid", "max"): "number",
    ("GuaranteeWindowInvalid", "window"): "duration",
    ("GuaranteeWindowInvalid", "max"): "duration",
    ("ReviewMerchantUnknown", "merchant"): "merchant",
}
#: How a bytes32 argument reads, by name: role ids named, lot and serial codes as text.
_BYTES32_KINDS: Mapping[str, str] = {"neededRole": "role", "lot": "code", "serial": "code", "subject": "subject", "root": "root"}
#: Nouns said before a value, by kind.
_NOUNS: Mapping[str, str] = {
    "gtin": "GTIN",
    "code_lot": "lot",
    "code_serial": "serial",
    "root": "root",
    "subject": "subject",
    "merchant": "merchant channel",
    "prefix": "prefix",
}

# ------------------------------------------------------------------------------------------
# What this process knows how to name: ids it made, codes its concerns declared

_KNOWN_IDS: dict[bytes, str] = {}
_KNOWN_IDS_MAX = 4096
_CODES: dict[str, tuple[str, ...]] = {}
#: Where each coded argument's names are declared: imported when a refusal names one before its
#: concern was (the package imports its concerns on first use, and a refusal may come first).
_CODES_DECLARED_IN: dict[str, str] = {
    "status": "o2ochain.identity._registry",
    "priceType": "o2ochain.guarantee._terms",
    "purpose": "o2ochain.consent._privacy",
    "category": "o2ochain.consent._privacy",
}


def remember(id_: bytes, words: str) -> None:
    """Say ``words`` (a Digital Link, say) wherever a refusal names the 32-byte ``id_``.

    Ids are hashes that cannot be read back; the library calls this where it makes one from
    what a person gave (a Digital Link), so a refusal names the item as it was given. The last
    few thousand are kept.
    """
    key = bytes(id_)
    _KNOWN_IDS.pop(key, None)
    _KNOWN_IDS[key] = words
    if len(_KNOWN_IDS) > _KNOWN_IDS_MAX:
        del _KNOWN_IDS[next(iter(_KNOWN_IDS))]


def name_codes(argument: str, names: Sequence[str]) -> None:
    """Name the codes an argument called ``argument`` takes: ``names[code]``. A concern calls
    this for its vocabulary (the consent purposes and categories, the item statuses)."""
    _CODES[argument] = tuple(names)


# ------------------------------------------------------------------------------------------
# Role ids

#: The roles the contracts derive, ``keccak256(abi.encode(tag, uint32 id))``, and their words.
_DERIVED_ROLES: tuple[tuple[str, str], ...] = (
    ("o2ochain.identity.brand-admin", "the brand admin role of brand {}"),
    ("o2ochain.identity.registrant", "the registrant role of brand {}"),
    ("o2ochain.identity.seller", "the seller role of brand {}"),
    ("o2ochain.guarantee.admin", "the admin role of retailer {}"),
)
#: Brand and retailer numbers searched when naming a role id (a role of a higher one is shown in hex).
_ROLE_SEARCH = 10_000


def derived_role(tag: str, number: int) -> bytes:
    """``keccak256(abi.encode(tag, uint32 number))``: how the contracts derive a brand's or a
    retailer's role (``brandRoleId`` in Types.sol, ``retailerAdminRole``)."""
    raw = tag.encode()
    return keccak256((0x40).to_bytes(32, "big") + number.to_bytes(32, "big") + len(raw).to_bytes(32, "big") + raw.ljust(32, b"\x00"))


@functools.cache
def role_words(role: bytes) -> str:
    """A role id in words: ``the seller role of brand 2``; unknown ones in hex."""
    if not any(role):
        return "the registry admin role (DEFAULT_ADMIN_ROLE)"
    for number in range(_ROLE_SEARCH):
        for tag, words in _DERIVED_ROLES:
            if derived_role(tag, number) == role:
                return words.format(number)
    return f"role 0x{role.hex()}"


# ------------------------------------------------------------------------------------------
# Words


def notice(name: str, signature: str) -> str | None:
    """The words of custom error ``name`` (``signature`` tells overloads apart), with its
    arguments in backticks; None for an error no one put in words."""
    if name in OPENZEPPELIN:
        return OPENZEPPELIN[name]
    docs = _our_notices().get(signature) or []
    return next((str(d["notice"]) for d in docs if d.get("notice")), None)


@functools.cache
def _our_notices() -> dict[str, list[dict[str, str]]]:
    from o2ochain._chain.artifacts import artifact

    return dict(artifact("Errors").get("userdoc", {}).get("errors", {}))


_PLACE = re.compile(r"`([^`]+)`|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def describe(
    name: str,
    text: str,
    fields: Mapping[str, Any],
    types: Mapping[str, str],
    *,
    amount: Callable[[int], str] | None = None,
) -> str:
    """``text`` (a notice) with each argument of ``fields`` in its place, said for people.

    ``types`` are the arguments' Solidity ``internalType`` (``BrandId``, ``uint64`` …);
    ``amount`` formats amounts of money when their currency is known (else they stay whole
    numbers of its smallest unit).
    """
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        inner, reference = match.group(1), match.group(2)
        if reference is not None:
            return reference
        if inner not in fields:  # an expression (`validFrom <= validUntil`), or a value the error does not carry
            said = re.sub(r"[A-Za-z_]\w*", lambda m: _label(m.group(0)), inner)
            return said.replace("==", "=").replace("<=", "≤").replace(">=", "≥")
        used.add(inner)
        said, noun = _say(name, inner, fields[inner], types.get(inner, ""), amount)
        before = text[: match.start()].rstrip(" ").lower()
        if noun and not before.endswith(noun.lower()):
            return f"{noun} {said}"
        if not noun and before.endswith("'s"):  # "a receipt's `purchasedAt`": say what it is
            return f"{_label(inner)} ({said})"
        return said

    filled = _PLACE.sub(fill, text).strip()
    rest = [f"{_label(k)}: {_say(name, k, v, types.get(k, ''), amount)[0]}" for k, v in fields.items() if k not in used]
    if rest:
        filled = f"{filled.rstrip('.')}; {', '.join(rest)}."
    first = filled.split(" ", 1)[0]
    return filled[:1].upper() + filled[1:] if first.isalpha() and first.islower() else filled


#: What some arguments are, where their name does not say it in words.
_LABELS: Mapping[str, str] = {
    "validFrom": "start",
    "validUntil": "end",
    "purchasedAt": "purchase time",
    "toleranceBps": "tolerance in basis points",
    "arg0": "address",
}


def _label(argument: str) -> str:
    """``productBrand`` → ``product brand``."""
    return _LABELS.get(argument) or re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: " " + m.group(1).lower(), argument)


_AMOUNTS = frozenset({"amount", "balance", "needed", "allowance", "compensated", "total", "offered", "paid", "tolerance", "maxPayout"})


def _say(error: str, argument: str, value: Any, internal: str, amount: Callable[[int], str] | None) -> tuple[str, str]:
    """(the value in words, the noun to say before it, "" for none)."""
    kind = _SPECIAL.get((error, argument)) or _kind(argument, value, internal)
    if kind in _ID_NOUNS.values() and isinstance(value, bytes | bytearray):
        known = _KNOWN_IDS.get(bytes(value))
        return (known, kind) if known else ("0x" + bytes(value).hex(), kind)
    if kind in _ID_NOUNS.values() or kind == "merchant":
        return str(value), _NOUNS.get(kind, kind)
    if kind == "address":
        from eth_utils.address import to_checksum_address

        return to_checksum_address(value), ""
    if kind == "role":
        return role_words(bytes(value)), ""
    if kind in ("subject", "root") and isinstance(value, bytes | bytearray):
        known = _KNOWN_IDS.get(bytes(value))
        return (known, "") if known else ("0x" + bytes(value).hex(), _NOUNS[kind])
    if kind == "code" and isinstance(value, bytes | bytearray):
        return _code(bytes(value)), _NOUNS["code_" + argument] if argument in ("lot", "serial") else ""
    if kind == "gtin" and isinstance(value, int):
        return (f"{value:014d}" if 0 <= value < 10**14 else str(value)), _NOUNS["gtin"]
    if kind == "moment" and isinstance(value, int):
        return _moment(value), ""
    if kind == "yymmdd" and isinstance(value, int):
        return _yymmdd(value), ""
    if kind == "duration" and isinstance(value, int):
        return _duration(value), ""
    if kind == "amount" and isinstance(value, int) and amount is not None:
        return amount(value), ""
    if kind == "code_name" and isinstance(value, int):
        names = _CODES[argument]
        return (names[value] if 0 <= value < len(names) else str(value)), ""
    if isinstance(value, str):
        return repr(value), _NOUNS.get(argument, "")
    return _plain(value), ""


def _kind(argument: str, value: Any, internal: str) -> str:
    if internal in _ID_NOUNS:
        return _ID_NOUNS[internal]
    if isinstance(value, str) and internal == "address":
        from eth_utils.address import is_address

        if is_address(value):
            return "address"
    if isinstance(value, bytes | bytearray) and len(value) == 32:
        return _BYTES32_KINDS.get(argument, "hex")
    if isinstance(value, int) and not isinstance(value, bool):
        if argument == "gtin":
            return "gtin"
        if argument in _MOMENTS:
            return "moment"
        if argument in _AMOUNTS:
            return "amount"
        if argument in _CODES_DECLARED_IN and argument not in _CODES:
            importlib.import_module(_CODES_DECLARED_IN[argument])
        if argument in _CODES:
            return "code_name"
    return "plain"


def _code(raw: bytes) -> str:
    """A left-aligned, zero-padded ASCII code (a lot, a serial) as text; else hex."""
    text = raw.rstrip(b"\x00")
    if text and all(32 <= b < 127 for b in text):
        return repr(text.decode("ascii"))
    return "0x" + raw.hex()


def _moment(seconds: int) -> str:
    if seconds >= 2**40 - 1:  # the contracts' "no end" (uint40's largest value)
        return "no end"
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return str(seconds)


def _yymmdd(value: int) -> str:
    """A GS1 expiry ``YYMMDD`` as a date (``DD`` 00 is the month's end); 0 is "none"."""
    if value == 0:
        return "none"
    yy, mm, dd = value // 10_000, value // 100 % 100, value % 100
    if value >= 1_000_000 or not 1 <= mm <= 12:
        return str(value)
    return f"20{yy:02d}-{mm:02d}" + (f"-{dd:02d}" if dd else " (end of month)")


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    if days and not rest:
        return f"{days} day{'s' if days != 1 else ''}"
    hours, rest = divmod(seconds, 3_600)
    if hours and not rest:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _plain(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return str(value)


def jsonable(value: Any) -> Any:
    """A decoded argument as JSON holds it: bytes in 0x hex, tuples as lists, and a number too
    large for a JSON reader's double (2^53 and up: amounts in wei) as a decimal string."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
