"""Contract refusals reach people in words: every custom error of every shipped ABI has them, its
arguments said as people read them (roles named, GTINs in 14 digits, dates, Digital Links), while
the class, ``error_name`` and ``args_by_name`` keep what Solidity said."""

from __future__ import annotations

import re
from typing import Any

import pytest
from eth_utils.address import to_checksum_address

from o2ochain import errors, gs1
from o2ochain._chain.revert import decode_revert
from o2ochain._chain.words import _label, derived_role, role_words
from o2ochain.errors import ContractRevert, by_name
from tests.conftest import GTIN_A, PREFIX, World, gtin

#: Backticked names in a notice that are not arguments of its error, on purpose.
NOT_ARGUMENTS = {("CouponSignatureInvalid", "validFrom")}  # the voucher's, not carried by the error


def _sample(abi_type: str, n: int) -> Any:
    """A distinct value of ``abi_type`` for the ``n``-th argument."""
    if abi_type == "address":
        return to_checksum_address(f"0x{n + 1:02x}" + "ab" * 19)
    if abi_type == "string":
        return f"text{n}"
    if abi_type.startswith("bytes"):
        return bytes([0x90 + n]) * int(abi_type[5:] or 32)
    if abi_type.startswith(("uint", "int")):
        return 7 + n
    raise AssertionError(f"no sample for {abi_type}")


def _example(cls: type[ContractRevert]) -> ContractRevert:
    types: tuple[str, ...] = cls.abi_types  # type: ignore[attr-defined]
    return cls(**{name: _sample(t, n) for n, (name, t) in enumerate(zip(cls.field_names, types, strict=True))})


@pytest.mark.parametrize("cls", errors._contract_errors(), ids=lambda c: c.error_name)
def test_every_custom_error_of_every_abi_is_said_in_words(cls: type[ContractRevert]) -> None:
    assert cls.notice, f"{cls.error_name} has no words: give it a @notice (ours) or words in _chain/words.py (OpenZeppelin's)"
    exc = _example(cls)
    message = str(exc)
    assert cls.error_name not in message and not re.search(r"\w=", message)  # not `Name(arg=value)`
    assert not re.search(r"[`{}]", message), f"a placeholder is left in {message!r}"
    named = set(re.findall(r"`([A-Za-z_]\w*)`", cls.notice))
    assert named - set(cls.field_names) <= {name for error, name in NOT_ARGUMENTS if error == cls.error_name}
    for name, value in exc.args_by_name.items():
        # Each argument is in its place in the notice, or added at the end with its label.
        assert name in named or f" {_label(name)}: " in message, f"{name} of {cls.error_name} is lost: {message!r}"
        if isinstance(value, str) and value.startswith("0x"):
            assert value in message  # addresses in full, checksummed
    assert (exc.error_name, type(exc).__name__) == (cls.error_name, cls.error_name)


def test_a_decoded_refusal_keeps_its_solidity_name_and_arguments_and_says_them() -> None:
    cls = by_name("TraceSubjectNotOfBrand")
    subject = gs1.item_id(GTIN_A, "X1")
    exc = decode_revert(cls.selector + subject + (1).to_bytes(32, "big") + (0).to_bytes(32, "big"))
    assert type(exc) is cls and exc.error_name == "TraceSubjectNotOfBrand"
    assert exc.args_by_name == {"subject": subject, "brand": 1, "productBrand": 0}
    assert str(exc) == (
        f"The product of subject 0x{subject.hex()} belongs to brand 0 (0 when not registered), not to the recording brand 1."
    )
    assert exc.to_dict() == {
        "error": "TraceSubjectNotOfBrand",
        "message": str(exc),
        "arguments": {"subject": "0x" + subject.hex(), "brand": 1, "productBrand": 0},
    }


def test_arguments_are_said_as_people_read_them() -> None:
    assert str(by_name("GuaranteeRetailerUnknown")(retailer=99)) == "Retailer 99 has not been registered."
    assert str(by_name("GuaranteeRetailerMismatch")(expected=2, given=3)) == "The offer is of retailer 3, the purchase of retailer 2."
    assert str(by_name("GuaranteeProductMismatch")(expected=int(GTIN_A), given=int(gtin(PREFIX, 11)))) == (
        f"The offer is for GTIN {gtin(PREFIX, 11)}, the purchase for GTIN {GTIN_A}."
    )
    assert str(by_name("GuaranteeWithdrawalTooEarly")(retailer=1, executableAt=1_800_000_000, now=1_799_996_400)) == (
        "The withdrawal of retailer 1 may be executed from 2027-01-15 08:00:00 UTC; it is 2027-01-15 07:00:00 UTC."
    )
    assert str(by_name("IdentityBatchEmpty")(gtin=int(GTIN_A), lot=gs1.to_bytes32("LOT1"))) == (
        f"A batch of GTIN {GTIN_A} and lot 'LOT1' has no serials."
    )
    assert str(by_name("IdentityLotExpiryMismatch")(lot=b"\x02" * 32, expiry=261231, given=270100)).endswith(
        "exists with expiry 2026-12-31; a batch gave 2027-01 (end of month)."
    )
    assert str(by_name("GuaranteeWindowInvalid")(window=90 * 86_400, max=60 * 86_400)) == (
        "A policy's window (90 days) exceeds 60 days (MAX_WINDOW)."
    )
    assert str(by_name("GuaranteePriceTypeExcluded")(policy=2, priceType=1)) == "The purchase's policy 2 excludes offers of promotion."
    # An argument the notice does not mention is said at the end, by its name in words.
    withdrawn = str(by_name("ConsentWithdrawn")(consumer="0x" + "11" * 20, dataUser="0x" + "22" * 20, purpose=3, category=0))
    assert withdrawn.endswith("has been revoked (withdrawn); purpose: marketing, category: contact.")


def test_an_item_is_named_by_the_digital_link_it_was_given_as() -> None:
    link = gs1.parse_digital_link(f"https://id.gs1.org/01/{GTIN_A}/21/WORDS1")
    exc = by_name("IdentityItemAlreadyClaimed")(item=link.item_id, owner=to_checksum_address("0x" + "ab" * 20))
    assert str(exc) == f"Item {link.uri()} was already claimed, by {to_checksum_address('0x' + 'ab' * 20)}."
    assert exc.args_by_name["item"] == link.item_id  # the id itself is unchanged for programs


def test_role_ids_are_named_as_the_contracts_derive_them(world: World) -> None:
    identity, guarantee = world.chain.identity, world.chain.guarantee
    assert identity.brand_admin_role(3) == derived_role("o2ochain.identity.brand-admin", 3)
    assert identity.registrant_role(1) == derived_role("o2ochain.identity.registrant", 1)
    assert identity.seller_role(2) == derived_role("o2ochain.identity.seller", 2)
    assert guarantee.admin_role(7) == derived_role("o2ochain.guarantee.admin", 7)
    assert role_words(identity.seller_role(2)) == "the seller role of brand 2"
    assert role_words(guarantee.admin_role(7)) == "the admin role of retailer 7"
    assert role_words(b"\x00" * 32) == "the registry admin role (DEFAULT_ADMIN_ROLE)"
    assert role_words(b"\x54" * 32) == "role 0x" + "54" * 32


def test_an_outsider_is_told_which_role_it_lacks_and_nothing_is_sent(world: World) -> None:
    outsider = world.outsider
    sent = world.chain.w3.eth.get_transaction_count(outsider.address)
    with pytest.raises(by_name("AccessControlUnauthorizedAccount")) as info:
        world.chain.brand(outsider, world.brand).add_product(gtin(PREFIX, 12))
    assert str(info.value) == f"{outsider.address} does not hold the registrant role of brand {world.brand}."
    assert info.value.args_by_name == {"account": outsider.address, "neededRole": world.chain.identity.registrant_role(world.brand)}
    assert world.chain.w3.eth.get_transaction_count(outsider.address) == sent  # refused by simulation: no gas spent


def test_a_refusal_about_money_says_the_amounts_in_the_retailers_currency(world: World) -> None:
    from o2ochain._chain.artifacts import artifact
    from o2ochain._chain.tx import Sender

    chain = world.chain
    art = artifact("TestStablecoin")
    deployer = Sender(chain.w3, world.other_admin)
    token_address = deployer.transact(chain.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"]).constructor())["contractAddress"]
    token = chain.w3.eth.contract(address=token_address, abi=art["abi"])
    deployer.transact(token.functions.mint(world.seller.address, 150 * 10**6))
    admin = chain.register_retailer(world.seller, currency=token_address)
    symbol = chain.guarantee.symbol(token_address)
    with pytest.raises(by_name("ERC20InsufficientBalance")) as info:
        admin.fund(200 * 10**6)
    assert info.value.args_by_name == {"sender": world.seller.address, "balance": 150 * 10**6, "needed": 200 * 10**6}
    assert str(info.value) == f"{world.seller.address} holds only 150 {symbol} of the token; 200 {symbol} is needed."


def test_every_coded_argument_is_named_even_before_its_concern_is_imported() -> None:
    """A refusal may come before the module that names its codes was imported (the package loads
    its concerns lazily): words.py knows where each vocabulary is declared, for every one declared."""
    import re
    from pathlib import Path

    from o2ochain._chain import words

    root = Path(words.__file__).resolve().parents[1]
    declared: dict[str, str] = {}
    for path in root.rglob("*.py"):
        for argument in re.findall(r'^name_codes\("(\w+)"', path.read_text(encoding="utf-8"), flags=re.MULTILINE):
            declared[argument] = ".".join(("o2ochain", *path.relative_to(root).with_suffix("").parts))
    assert declared and declared == words._CODES_DECLARED_IN
