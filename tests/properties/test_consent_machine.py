"""ConsentRegistry: no data use without a live consent, through any sequence of grants (direct or
signed and relayed), revocations, expiries and time travel, against a model of each
(consumer, data user) pair."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from o2ochain._chain.connection import dev_accounts
from tests.contracts.conftest import CONSENT_DOMAIN_NAME, EIP712_DOMAIN_FIELDS, GRANT_FIELDS, TERMS_NAMES
from tests.properties.conftest import World, machine_settings

PURPOSES_KNOWN = 0x3F  # six purposes
CATEGORIES_KNOWN = 0xFF  # eight categories
ZERO32 = b"\x00" * 32
LANGUAGE = b"en".ljust(8, b"\x00")


@dataclass
class Pair:
    """The model of one (consumer, data user) consent record."""

    nonce: int = 0
    granted: bool = False
    revoked: bool = False
    purposes: int = 0
    categories: int = 0
    expiry: int = 0
    consent_nonce: int = 0  # the nonce of the grant in force

    def refusal(self, purpose: int, category: int, at: int) -> str:
        """The error a use at time ``at`` gets, or "" when a live consent covers it."""
        if not self.granted:
            return "ConsentNotGranted"
        if self.revoked:
            return "ConsentWithdrawn"
        if self.expiry <= at:
            return "ConsentExpired"
        if not (self.purposes >> purpose) & 1 or not (self.categories >> category) & 1:
            return "ConsentNotCovered"
        return ""


class ConsentMachine(RuleBasedStateMachine):
    """Two consumers, two data users; every use is either refused with the model's reason or
    recorded under the consent the model says is live."""

    world: World  # set by the test
    keys: dict[str, bytes]

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.node = w.node
        self.snapshot = self.node.snapshot()
        self.now = self.node.now()
        self.pairs = {(c, d): Pair() for c in w.consumers for d in w.data_users}
        self.uses = 0

    def teardown(self) -> None:
        self.node.revert(self.snapshot)

    def next_time(self) -> int:
        return self.now + 1

    def sent(self) -> None:
        self.now += 1

    def terms(self, consumer: str, data_user: str, purposes: int, categories: int, expiry: int) -> tuple[object, ...]:
        return (consumer, data_user, purposes, categories, expiry, ZERO32, LANGUAGE, ZERO32)

    # -- rules ----------------------------------------------------------------------------------

    @initialize(purposes=st.sampled_from([PURPOSES_KNOWN, 0b11]), valid_for=st.sampled_from([100, 1_000]), signed=st.booleans())
    def first_grant(self, purposes: int, valid_for: int, signed: bool) -> None:
        """The first consumer consents to the first data user: uses are not all refused."""
        self.grant(0, 0, purposes, 0b111, valid_for, signed)

    @rule(
        consumer=st.integers(0, 1),
        data_user=st.integers(0, 1),
        # Mostly valid masks, now and then an empty one or one with an unknown bit.
        purposes=st.one_of(st.integers(1, PURPOSES_KNOWN), st.sampled_from([0, 0x40, 0x41, 1 << 63])),
        categories=st.integers(1, CATEGORIES_KNOWN),
        valid_for=st.integers(1, 400),
        signed=st.booleans(),
    )
    def grant(self, consumer: int, data_user: int, purposes: int, categories: int, valid_for: int, signed: bool) -> None:
        w, node = self.world, self.node
        c, d = w.consumers[consumer], w.data_users[data_user]
        pair = self.pairs[(c, d)]
        expiry = self.next_time() + valid_for
        terms = self.terms(c, d, purposes, categories, expiry)
        if signed:
            deadline = self.next_time() + 60
            message = dict(zip(TERMS_NAMES, terms, strict=True)) | {"nonce": pair.nonce, "deadline": deadline}
            typed = {
                "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, "Grant": GRANT_FIELDS},
                "primaryType": "Grant",
                "domain": {"name": CONSENT_DOMAIN_NAME, "version": "1", "chainId": 31337, "verifyingContract": w.consent.address},
                "message": message,
            }
            signature = bytes(Account.sign_message(encode_typed_data(full_message=typed), self.keys[c]).signature)
            fn, args, sender = "grantWithSignature", [terms, pair.nonce, deadline, signature], w.outsider
        else:
            fn, args, sender = "grant", [d, terms], c
        if purposes == 0 or purposes & ~PURPOSES_KNOWN:
            name, values = node.refusal(w.consent, fn, args, sender)
            assert (name, values["purposes"]) == ("ConsentPurposesInvalid", purposes)
            return
        tx = node.send(w.consent, fn, args, sender)
        self.sent()
        event = node.events(w.consent, tx, "ConsentGranted")[0]
        pair.nonce += 1
        assert (event["consumer"], event["dataUser"], event["nonce"], event["expiry"]) == (c, d, pair.nonce, expiry)
        pair.granted, pair.revoked = True, False
        pair.purposes, pair.categories, pair.expiry, pair.consent_nonce = purposes, categories, expiry, pair.nonce

    @rule(consumer=st.integers(0, 1), data_user=st.integers(0, 1))
    def revoke(self, consumer: int, data_user: int) -> None:
        w = self.world
        c, d = w.consumers[consumer], w.data_users[data_user]
        pair = self.pairs[(c, d)]
        tx = self.node.send(w.consent, "revoke", [d], c)
        self.sent()
        pair.nonce += 1
        assert self.node.events(w.consent, tx, "ConsentRevoked")[0]["nonce"] == pair.nonce
        pair.revoked = True

    @rule(seconds=st.sampled_from([1, 30, 120, 400]))
    def time_passes(self, seconds: int) -> None:
        self.now += seconds
        self.node.at(self.now)
        self.node.mine()

    @rule(consumer=st.integers(0, 1), data_user=st.integers(0, 1), purpose=st.integers(0, 6), category=st.integers(0, 8))
    def use(self, consumer: int, data_user: int, purpose: int, category: int) -> None:
        w, node = self.world, self.node
        c, d = w.consumers[consumer], w.data_users[data_user]
        pair = self.pairs[(c, d)]
        request = (self.uses + 1).to_bytes(32, "big")
        args = [c, purpose, category, request]
        expected = pair.refusal(purpose, category, self.next_time())
        if expected:
            name, values = node.refusal(w.consent, "recordUse", args, d)
            assert name == expected, (name, values, pair)
            assert (values["consumer"], values["dataUser"], values["purpose"], values["category"]) == (c, d, purpose, category)
            return
        tx = node.send(w.consent, "recordUse", args, d)
        self.sent()
        self.uses += 1
        event = node.events(w.consent, tx, "DataUsed")[0]
        assert (event["consumer"], event["dataUser"], event["purpose"], event["category"]) == (c, d, purpose, category)
        assert event["consentNonce"] == pair.consent_nonce

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def nonces_and_liveness_match_the_model(self) -> None:
        w, node = self.world, self.node
        calls = []
        for c, d in self.pairs:
            calls.append((w.consent, "nonce", (c, d)))
            calls.append((w.consent, "isLive", (c, d, 0, 0)))
        values = node.views(calls)
        for i, pair in enumerate(self.pairs.values()):
            assert values[2 * i] == pair.nonce
            # isLive reads the latest block's time, not the next one.
            assert values[2 * i + 1] == (pair.refusal(0, 0, self.now) == "")

    @invariant()
    def no_use_without_a_live_consent(self) -> None:
        """Every pair, a few purposes and categories: a use now would be recorded exactly when the
        model has a live consent covering it, and refused with the model's reason otherwise."""
        w = self.world
        probes = [(0, 0), (1, 2), (3, 7), (6, 8)]
        calls, expected = [], []
        for (c, d), pair in self.pairs.items():
            for purpose, category in probes:
                calls.append(("recordUse", [c, purpose, category, ZERO32], d))
                expected.append(pair.refusal(purpose, category, self.next_time()))
        assert self.node.outcomes(w.consent, calls) == expected


def test_no_data_use_without_a_live_consent(world: World) -> None:
    ConsentMachine.world = world
    ConsentMachine.keys = {a.address: bytes(a.key) for a in dev_accounts(12)}
    run_state_machine_as_test(ConsentMachine, settings=machine_settings(steps=6))
