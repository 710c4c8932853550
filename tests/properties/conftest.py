"""One Anvil for the state machines, with every contract they drive deployed and set up once.

Each machine takes an ``evm_snapshot`` when an example starts and reverts to it at teardown, so
1,000 examples cost 1,000 snapshot/revert pairs (about 2 ms each), not 1,000 deployments.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, settings
from web3.contract import Contract

from o2ochain._chain.connection import Anvil
from tests.contracts.conftest import (
    ARTIFACT,
    CARRIER_LOCATION,
    CONSENT_ARTIFACT,
    GROWER,
    GROWER_LOCATION,
    GTIN,
    GTIN_2,
    LOGISTICS,
    OTHER_GTIN,
    OTHER_PREFIX,
    PREFIX,
    TRACE_ARTIFACT,
    URI,
    brand_role,
)
from tests.contracts.conftest_price import CHANNEL_ONLINE_SHOP, CHANNEL_STORE, NATIVE, PG_ARTIFACT, ZERO_ADDRESS
from tests.properties._chain import Node

# Examples per state machine: 1,000 in CI (the default), fewer for a quick local run
# (O2O_PROPERTY_EXAMPLES=50).
EXAMPLES = int(os.environ.get("O2O_PROPERTY_EXAMPLES", "1000"))


def machine_settings(steps: int) -> settings:
    """The settings of every machine: EXAMPLES examples of at most ``steps`` rules each."""
    return settings(
        max_examples=EXAMPLES,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@dataclass
class World:
    """The deployed contracts and the accounts of every role (see :func:`world`)."""

    node: Node
    registry: Contract
    ledger: Contract
    consent: Contract
    pg: Contract
    admin: str
    brand_admin: str
    registrant: str
    registrant2: str
    seller: str
    outsider: str
    other_admin: str
    grower: str
    carrier: str
    consumers: tuple[str, str]
    data_users: tuple[str, str]
    keeper: str
    online: str
    store: str
    keys: dict[str, bytes]  # channel keys' private keys by address


def channel_key(label: str) -> tuple[str, bytes]:
    private = keccak(f"o2ochain property channel key: {label}".encode())
    return Account.from_key(private).address, private


@pytest.fixture(scope="session")
def world() -> Iterator[World]:
    """ProductRegistry (brand 1: prefix 9506000, products GTIN and GTIN_2, two registrants and a
    seller; brand 2: OTHER_PREFIX, OTHER_GTIN), a TraceLedger on it (a grower of brand 1, a carrier
    of brand 2), a ConsentRegistry, and a PriceGuarantee with one native-coin retailer whose
    online shop and store have channel keys."""
    with Anvil(accounts=13) as anvil:
        node = Node(anvil)
        a = node.accounts
        admin, brand_admin, registrant, seller, _, outsider, other_admin, registrant2, grower, carrier = a[:10]
        registry = node.deploy(ARTIFACT, admin, admin)
        node.send(registry, "registerBrand", [brand_admin, "Acme Foods", [PREFIX]], admin)
        node.send(registry, "registerBrand", [other_admin, "Other Co", [OTHER_PREFIX]], admin)
        for account in (registrant, registrant2):
            node.send(registry, "grantRole", [brand_role("registrant", 1), account], brand_admin)
        node.send(registry, "grantRole", [brand_role("seller", 1), seller], brand_admin)
        node.send(registry, "registerProduct", [1, GTIN, URI], registrant)
        node.send(registry, "registerProduct", [1, GTIN_2, URI], registrant)
        node.send(registry, "registerProduct", [2, OTHER_GTIN, URI], other_admin)
        ledger = node.deploy(TRACE_ARTIFACT, admin, registry.address)
        node.send(ledger, "grantActor", [1, grower, GROWER, GROWER_LOCATION], brand_admin)
        node.send(ledger, "grantActor", [2, carrier, LOGISTICS, CARRIER_LOCATION], other_admin)
        consent = node.deploy(CONSENT_ARTIFACT, admin)
        pg = node.deploy(PG_ARTIFACT, outsider)
        online, online_key = channel_key("online shop")
        store, store_key = channel_key("store")
        for key in (online, store):
            node.set_balance(key, 10**21)
        node.send(pg, "registerRetailer", [brand_admin, ZERO_ADDRESS, "ipfs://retailer/acme-mart"], brand_admin)
        node.send(pg, "addChannel", [NATIVE, CHANNEL_ONLINE_SHOP, online, "Acme Mart online"], brand_admin)
        node.send(pg, "addChannel", [NATIVE, CHANNEL_STORE, store, "Acme Mart Nanjing Road"], brand_admin)
        yield World(
            node=node,
            registry=registry,
            ledger=ledger,
            consent=consent,
            pg=pg,
            admin=admin,
            brand_admin=brand_admin,
            registrant=registrant,
            registrant2=registrant2,
            seller=seller,
            outsider=outsider,
            other_admin=other_admin,
            grower=grower,
            carrier=carrier,
            consumers=(a[4], a[10]),
            data_users=(a[3], a[11]),
            keeper=a[12],
            online=online,
            store=store,
            keys={online: online_key, store: store_key},
        )
