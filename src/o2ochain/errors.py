"""The o2ochain exception tree: every error the library raises, drawn here and defined here.

Every error derives from :class:`O2OError`, so one ``except O2OError`` catches them all::

    O2OError
    ├── InputError              bad input: names the file, line and field at fault
    │   └── InputErrors         several InputErrors found in one pass (nothing was written)
    ├── ConfigError             missing deployment, wrong chain id, unknown account, no toolchain
    ├── PrivacyError            a sealed personal record that does not open or match its commitment
    ├── ChainError              the node failed us
    │   ├── RPCUnavailable      no useful answer after every retry (endpoint, method, attempts)
    │   ├── TransactionFailed   a transaction was mined but reverted without a decodable reason
    │   └── TransactionDropped  a transaction left the chain and its nonce now belongs to another
    └── ContractRevert          a contract refused a call: the error's name and arguments by name
        ├── RevertMessage       ``require(cond, "text")`` or ``revert("text")``
        ├── Panic               a failed assert, an overflow, an index out of bounds …
        ├── UnknownRevert       revert data no ABI of ours declares (or no data at all)
        └── <one class per Solidity custom error>, listed below

A class is generated for every custom error in the ABIs shipped in ``o2ochain/abi`` (ours and
the OpenZeppelin code they use), the first time one is needed: a subclass of
:class:`ContractRevert` with the error's name, whose instances carry the decoded arguments as
attributes (``exc.item``) and whose message is in words: the error's NatSpec ``@notice`` (our
contracts') or the library's words (OpenZeppelin's) filled with the arguments, ids and roles
named (``retailer 99 has not been registered.``). A new custom error in Solidity becomes a Python
class without hand-written code (give it a ``@notice`` and add its name below; tests check both).
Reach one as ``o2ochain.errors.<Name>`` or with :func:`by_name`::

    try:
        registrant.register_items(items)
    except o2ochain.errors.IdentityItemAlreadyRegistered as exc:
        print(exc.item)

The custom errors, by the contract (or OpenZeppelin library code) that declares them::

    ProductRegistry  IdentityBatchEmpty, IdentityBrandNameEmpty, IdentityBrandUnknown,
                     IdentityExpiryInvalid, IdentityGtinInvalid, IdentityGtinNotOfBrand,
                     IdentityInvalidAdmin, IdentityInvalidOwner, IdentityItemAlreadyClaimed,
                     IdentityItemAlreadyRegistered, IdentityItemNotActive, IdentityItemUnknown,
                     IdentityLineNotForLot, IdentityLotCodeInvalid, IdentityLotEmpty,
                     IdentityLotExpiryMismatch, IdentityLotRecalled, IdentityLotTooLarge,
                     IdentityLotUnknown, IdentityNoOpenLine, IdentityPrefixInvalid,
                     IdentityPrefixNested, IdentityPrefixTaken, IdentityProductAlreadyRegistered,
                     IdentityProductUnknown, IdentityProofInvalid, IdentityRootAlreadyCommitted,
                     IdentityRootInvalid, IdentityRootUnknown, IdentitySerialInvalid,
                     IdentitySignatureExpired, IdentitySignerNotSeller
    TraceLedger      TraceActorInvalid, TraceActorKindInvalid, TraceBatchEmpty,
                     TraceBindingInvalid, TraceContentEmpty, TraceNotActor, TraceNotBrandAdmin,
                     TraceSubjectMismatch, TraceSubjectNotOfBrand
    ConsentRegistry  ConsentBatchEmpty, ConsentCategoriesInvalid, ConsentDataUserInvalid,
                     ConsentDataUserMismatch, ConsentDelegateExpiryInvalid, ConsentDelegateInvalid,
                     ConsentDelegateUnknown, ConsentExpired, ConsentExpiryInvalid,
                     ConsentNonceInvalid, ConsentNotAuthorised, ConsentNotCovered,
                     ConsentNotGranted, ConsentPurposesInvalid, ConsentSignatureExpired,
                     ConsentSignerNotAuthorised, ConsentWithdrawn
    PriceGuarantee   GuaranteeAdminInvalid, GuaranteeAlreadyCompensated, GuaranteeAmountInvalid,
                     GuaranteeBatchEmpty, GuaranteeBuyerInvalid, GuaranteeChannelKindInvalid,
                     GuaranteeChannelUnknown, GuaranteeClaimTooEarly, GuaranteeCoverOpen,
                     GuaranteeCurrencyMismatch, GuaranteeDeclarationClosed,
                     GuaranteeKeyGraceInvalid, GuaranteeKeyInvalid, GuaranteeMaxPayoutInvalid,
                     GuaranteeNoWithdrawal, GuaranteeNotChannelKey, GuaranteeNotCovered,
                     GuaranteeNothingToWithdraw, GuaranteeOfferNotStarted,
                     GuaranteeOfferOutsideWindow, GuaranteePriceExists, GuaranteePriceNotLive,
                     GuaranteePriceTypeExcluded, GuaranteePriceTypeInvalid,
                     GuaranteePriceTypesInvalid, GuaranteePriceUnknown, GuaranteeProductMismatch,
                     GuaranteePurchaseExists, GuaranteePurchaseInFuture, GuaranteePurchaseMismatch,
                     GuaranteePurchaseUnknown, GuaranteeQuantityInvalid, GuaranteeRecipientInvalid,
                     GuaranteeRetailerMismatch, GuaranteeRetailerUnknown, GuaranteeSignerInvalid,
                     GuaranteeToleranceInvalid, GuaranteeTransferFailed, GuaranteeValidityInvalid,
                     GuaranteeValueMismatch, GuaranteeWindowClosed, GuaranteeWindowInvalid,
                     GuaranteeWithdrawalPending, GuaranteeWithdrawalTooEarly,
                     GuaranteeWithinTolerance
    ReviewBoard      ReviewAlreadyPosted, ReviewAlreadyReported, ReviewAlreadyVoted,
                     ReviewContentMissing, ReviewItemNotClaimed, ReviewMerchantUnknown,
                     ReviewNoMerchant, ReviewNotAuthor, ReviewNotBuyer, ReviewNotMerchant,
                     ReviewPurchaseUnknown, ReviewRatingInvalid, ReviewReasonInvalid,
                     ReviewSelfVote, ReviewSellerNotAuthorised, ReviewSubjectInvalid,
                     ReviewTicketUnrelated, ReviewUnknown, ReviewVersionLimit
    CouponBook       CouponAlreadyRedeemed, CouponCampaignInvalid, CouponCampaignUnknown,
                     CouponExpired, CouponIndexInvalid, CouponNotShop, CouponNotYetValid,
                     CouponSignatureInvalid, CouponTermsInvalid
    OpenZeppelin     AccessControlBadConfirmation, AccessControlUnauthorizedAccount,
                     AddressEmptyCode, ECDSAInvalidSignature, ECDSAInvalidSignatureLength,
                     ECDSAInvalidSignatureS, ERC1155InsufficientBalance, ERC1155InvalidApprover,
                     ERC1155InvalidArrayLength, ERC1155InvalidOperator, ERC1155InvalidReceiver,
                     ERC1155InvalidSender, ERC1155MissingApprovalForAll,
                     ERC20InsufficientAllowance, ERC20InsufficientBalance, ERC20InvalidApprover,
                     ERC20InvalidReceiver, ERC20InvalidSender, ERC20InvalidSpender,
                     ERC2771ForwarderExpiredRequest, ERC2771ForwarderInvalidSigner,
                     ERC2771ForwarderMismatchedValue, ERC2771ForwarderNoRefundReceiver,
                     ERC2771UntrustfulTarget, ERC5267ExtensionsNotSupported, ERC721IncorrectOwner,
                     ERC721InsufficientApproval, ERC721InvalidApprover, ERC721InvalidOperator,
                     ERC721InvalidOwner, ERC721InvalidReceiver, ERC721InvalidSender,
                     ERC721NonexistentToken, FailedCall, FailedDeployment, InsufficientBalance,
                     InvalidAccountNonce, InvalidShortString, MerkleProofInvalidMultiproof,
                     MissingPrecompile, ReentrancyGuardReentrantCall,
                     SafeCastOverflowedIntDowncast, SafeCastOverflowedIntToUint,
                     SafeCastOverflowedUintDowncast, SafeCastOverflowedUintToInt,
                     SafeERC20FailedDecreaseAllowance, SafeERC20FailedOperation, StringTooLong,
                     StringsInsufficientHexLength, StringsInvalidAddressFormat, StringsInvalidChar
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, cast

__all__ = [
    "ChainError",
    "ConfigError",
    "ContractRevert",
    "InputError",
    "InputErrors",
    "O2OError",
    "Panic",
    "PrivacyError",
    "RPCUnavailable",
    "RevertMessage",
    "TransactionDropped",
    "TransactionFailed",
    "UnknownRevert",
    "by_name",
]


class O2OError(Exception):
    """Base class of every error raised by o2ochain."""


class InputError(O2OError, ValueError):
    """Bad input, located as precisely as we can: ``file:line: field: message``.

    ``file``, ``line`` and ``field`` are ``None`` when they do not apply (a value passed from
    Python rather than read from a file).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.value = value
        super().__init__(self.__str__())

    def where(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.field is not None:
            if self.field.startswith("-"):
                parts.append(f"option {self.field}")
            elif self.field.replace("_", "").isalpha() and self.field.isupper():  # a command-line argument's metavar
                parts.append(f"argument {self.field}")
            else:
                parts.append(f"field {self.field!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class InputErrors(InputError):
    """Several input errors found in one validation pass. Nothing was written."""

    def __init__(self, errors: Sequence[InputError], *, limit: int = 20, total: int | None = None) -> None:
        self.errors: list[InputError] = list(errors)
        #: How many problems were found: more than ``errors`` when a reader kept only the first ones.
        self.total = max(total or 0, len(self.errors))
        shown = "\n".join(f"  {e}" for e in self.errors[:limit])
        more = self.total - min(limit, len(self.errors))
        tail = f"\n  ... and {more:,} more" if more > 0 else ""
        files = {e.file for e in self.errors if e.file}
        super().__init__(
            f"{self.total:,} problem(s) found, nothing was written:\n{shown}{tail}",
            file=files.pop() if len(files) == 1 else None,
        )

    def __str__(self) -> str:
        return self.message

    def __iter__(self) -> Any:
        return iter(self.errors)

    @classmethod
    def raise_if_any(cls, errors: Iterable[InputError]) -> None:
        found = list(errors)
        if found:
            raise cls(found)


class ConfigError(O2OError):
    """The environment is not as needed: no deployment for this chain, wrong chain id, no key."""


class PrivacyError(O2OError):
    """A sealed record could not be opened, or what it holds does not match its commitment.

    ``reason`` says which check failed:

    * ``"malformed"``: the ciphertext is too short or its ephemeral key is not a curve point, or
      the decrypted payload is not ``salt ‖ canonical JSON object`` (a sender bug or an attack);
    * ``"undecryptable"``: the AES-GCM tag did not verify. Either this is not the key the record
      was sealed to, or the ciphertext was altered; AES-GCM by design cannot tell the two apart;
    * ``"commitment_mismatch"``: the record decrypted but ``keccak256(salt ‖ json)`` is not the
      commitment it came with (or not the one the caller expected, e.g. the hash on chain).
    """

    def __init__(self, message: str, *, reason: Literal["malformed", "undecryptable", "commitment_mismatch"]) -> None:
        self.reason = reason
        super().__init__(message)


class ChainError(O2OError):
    """The node failed us: connection refused, timeout, 5xx, a transaction dropped."""


class TransactionFailed(ChainError):
    """A transaction was mined with status 0 and replaying it gave no decodable reason."""

    def __init__(self, message: str, *, tx_hash: str | None = None) -> None:
        self.tx_hash = tx_hash
        super().__init__(message if tx_hash is None else f"{message} (transaction {tx_hash})")


class RPCUnavailable(ChainError):
    """The node did not answer usefully after every retry: ``endpoint``, ``method``, ``attempts``,
    ``seconds`` spent and the last ``problem`` in words ("HTTP 503 Service Unavailable", "no answer
    within 30 s", "connection refused", "connection dropped before an answer")."""

    def __init__(self, endpoint: str, method: str, attempts: int, seconds: float, problem: str) -> None:
        self.endpoint = endpoint
        self.method = method
        self.attempts = attempts
        self.seconds = seconds
        self.problem = problem
        tries = "once" if attempts == 1 else f"{attempts} times over {seconds:.1f} s"
        super().__init__(f"the node at {endpoint} failed {method} {tries}: {problem}")


class TransactionDropped(ChainError):
    """A transaction of ours left the chain (a reorg, a node that lost blocks) and could not be
    sent again because its nonce now belongs to another transaction of the same account."""

    def __init__(self, message: str, *, tx_hash: str, nonce: int) -> None:
        self.tx_hash = tx_hash
        self.nonce = nonce
        super().__init__(f"{message} (transaction {tx_hash}, nonce {nonce})")


class ContractRevert(O2OError):
    """A contract refused the call. Subclasses carry the custom error's name and arguments.

    ``args_by_name`` maps each Solidity parameter name to its decoded Python value. The message
    (``str(exc)``) is in words: the error's NatSpec notice filled with its arguments, ids and
    roles named, dates and GTINs as people write them (see ``o2ochain._chain.words``); the class
    and ``error_name`` keep the Solidity name, and :meth:`to_dict` gives all three to machines.
    """

    error_name: str = "ContractRevert"
    signature: str = ""
    selector: bytes = b""
    field_names: tuple[str, ...] = ()
    #: The arguments' Solidity ``internalType`` (``BrandId``, ``uint64`` …), in order.
    internal_types: tuple[str, ...] = ()
    #: The error's words, its arguments in backticks: our contracts' ``@notice``, or ours for
    #: OpenZeppelin's errors.
    notice: str = ""

    def __init__(self, message: str | None = None, /, **fields: Any) -> None:
        self.args_by_name: dict[str, Any] = dict(fields)
        for name, value in fields.items():
            setattr(self, name, value)
        self._worded = not message
        super().__init__(message or self._describe())

    #: Says an amount of money, once its currency is known (see :meth:`with_amounts`).
    _amount: Callable[[int], str] | None = None

    def _describe(self) -> str:
        if not self.notice:
            return f"the contract refused the call with {self.error_name}" + (f" {self.args_by_name}" if self.args_by_name else "")
        from o2ochain._chain.words import describe

        types = dict(zip(self.field_names, self.internal_types, strict=False))
        return describe(self.error_name, self.notice, self.args_by_name, types, amount=self._amount)

    def with_amounts(self, amount: Callable[[int], str]) -> ContractRevert:
        """This error with its amounts of money said by ``amount`` (units of a known currency,
        e.g. ``lambda units: format_amount(units, 6, "USDC")``); returns ``self``."""
        self._amount = amount
        if self._worded and self.notice:
            self.args = (self._describe(),)
        return self

    def to_dict(self) -> dict[str, Any]:
        """``error`` (the Solidity name), ``message`` (the words), ``arguments`` (by name, JSON-ready)."""
        from o2ochain._chain.words import jsonable

        return {"error": self.error_name, "message": str(self), "arguments": {k: jsonable(v) for k, v in self.args_by_name.items()}}


# ------------------------------------------------------------------------------------------
# Contract reverts: the three kinds every EVM call may give, then one class per custom error

_PANIC_REASONS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupted storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised internal function",
}


class RevertMessage(ContractRevert):
    """``revert("...")`` / ``require(cond, "...")`` with a text reason."""

    error_name = "Error"
    signature = "Error(string)"
    selector = bytes.fromhex("08c379a0")
    field_names = ("message",)

    def _describe(self) -> str:
        return f"reverted: {self.args_by_name.get('message', '')}"


class Panic(ContractRevert):
    """A Solidity panic (failed assert, overflow, out-of-bounds…)."""

    error_name = "Panic"
    signature = "Panic(uint256)"
    selector = bytes.fromhex("4e487b71")
    field_names = ("code",)

    def _describe(self) -> str:
        code = int(self.args_by_name.get("code", 0))
        return f"panic 0x{code:02x}: {_PANIC_REASONS.get(code, 'unknown panic code')}"


class UnknownRevert(ContractRevert):
    """A revert whose data matches no error we know (another contract's, or no data at all)."""

    error_name = "UnknownRevert"

    def __init__(self, data: bytes) -> None:
        self.data = data
        if not data:
            text = "the call reverted without a reason"
        else:
            text = f"the call reverted with an error unknown to o2ochain (selector 0x{data[:4].hex()})"
        super().__init__(text, data=data)


def _type_string(param: dict[str, Any]) -> str:
    """ABI type of a parameter, expanding tuples: ``(uint64,bytes32)[]``."""
    t = str(param["type"])
    if t.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param.get("components", []))
        return f"({inner}){t[len('tuple') :]}"
    return t


@functools.cache
def _contract_errors() -> tuple[type[ContractRevert], ...]:
    """One :class:`ContractRevert` subclass per custom error of the shipped ABIs, made once."""
    from o2ochain._chain.artifacts import error_abi
    from o2ochain._chain.util import keccak256
    from o2ochain._chain.words import notice

    made: list[type[ContractRevert]] = []
    for entry in error_abi():
        types = [_type_string(i) for i in entry["inputs"]]
        signature = f"{entry['name']}({','.join(types)})"
        words = notice(entry["name"], signature)
        cls = type(
            entry["name"],
            (ContractRevert,),
            {
                "__doc__": f"Solidity custom error ``{signature}``.",
                "__module__": __name__,
                "error_name": entry["name"],
                "signature": signature,
                "selector": keccak256(signature.encode())[:4],
                "field_names": tuple(i["name"] or f"arg{n}" for n, i in enumerate(entry["inputs"])),
                "abi_types": tuple(types),
                "internal_types": tuple(str(i.get("internalType", i["type"])).removeprefix("enum ") for i in entry["inputs"]),
                "notice": words or "",
            },
        )
        made.append(cast(type[ContractRevert], cls))
    return tuple(made)


@functools.cache
def _by_name() -> dict[str, type[ContractRevert]]:
    names: dict[str, type[ContractRevert]] = {"Error": RevertMessage, "Panic": Panic}
    for cls in _contract_errors():
        names.setdefault(cls.error_name, cls)
    return names


def by_name(name: str) -> type[ContractRevert]:
    """The exception class of the custom error ``name`` (KeyError when unknown)."""
    return _by_name()[name]


def __getattr__(name: str) -> type[ContractRevert]:
    """``o2ochain.errors.IdentityItemAlreadyRegistered`` and every other custom error."""
    if not name.startswith("_"):
        found = _by_name().get(name)
        if found is not None:
            return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r} (and no contract error of that name)")
