"""A brand publishes who its supply-chain actors are, so that a shopper reads names, not keys.

The profile document is content-addressed (its keccak256 on chain, ``setActorProfile``), like a
merchant's profile; only the brand's admin may publish it (tests/contracts/test_trace_ledger.py
plays the others), and what it holds is checked before anything is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from o2ochain import gs1
from o2ochain.errors import ContractRevert, InputError, by_name
from o2ochain.loop import ContentStore
from o2ochain.trace import actor_profile_document
from tests.conftest import PREFIX, World
from tests.library.test_trace import _grant

FARM = {"name": "Hillside Farm", "city": "Jinzhou", "places": [{"gln": gs1.make_gln(PREFIX, 11), "name": "Packing shed", "city": "Jinzhou"}]}


def test_the_brand_publishes_a_profile_the_page_can_check(world: World, tmp_path: Path) -> None:
    tw = _grant(world, tmp_path / "events")
    store = ContentStore(tmp_path / "content", base="https://brand.example/content")
    admin = world.chain.trace_admin(world.brand_admin, world.brand)
    digest = admin.set_profile(tw.farm.address, FARM, store)
    ledger = world.chain.trace.contract
    assert bytes(ledger.functions.actorProfile(world.brand, tw.farm.address).call()) == digest
    stored = store.get(digest)
    assert stored == {"type": "o2ochain.trace.actor", **FARM}
    (log,) = ledger.events.ActorProfileSet().get_logs(from_block=0)
    assert log["args"]["uri"] == f"https://brand.example/content/0x{digest.hex()}.json"
    assert json.loads((tmp_path / "content" / f"0x{digest.hex()}.json").read_bytes()) == stored


def test_another_brands_admin_cannot_name_this_brands_farm(world: World, tmp_path: Path) -> None:
    tw = _grant(world, tmp_path / "events")
    other = world.chain.trace_admin(world.other_admin, world.brand)  # the other brand's admin, acting on this brand
    with pytest.raises(by_name("TraceNotBrandAdmin")) as refused:
        other.set_profile(tw.farm.address, {"name": "A famous farm"}, ContentStore(tmp_path / "content"))
    assert isinstance(refused.value, ContractRevert) and "brand admin role of brand 1" in str(refused.value)
    assert world.chain.trace.contract.functions.actorProfile(world.brand, tw.farm.address).call() == b"\0" * 32


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "Farm", "phone": "138 0000 0000"}, "phone"),  # nothing about people: name, city, places only
        ({"name": "Farm", "places": {"gln": "1"}}, "places"),
        ({"name": "Farm", "places": [{"gln": "9506000000012", "name": "Shed"}]}, "places[0].gln"),  # bad check digit
        ({"name": "Farm", "places": [{"gln": gs1.make_gln(PREFIX, 3)}]}, "places[0].name"),
    ],
)
def test_a_bad_profile_says_which_field_and_writes_nothing(profile: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as refused:
        actor_profile_document(profile)
    assert refused.value.field == field
