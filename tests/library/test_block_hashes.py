"""The capture workers' view of the node's block hashes (``_BlockHashes``): the party is the node,
which may lose blocks it gave receipts for (a restart, a reorg) and mine others in their place."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from o2ochain.errors import ChainError
from o2ochain.serve._epcis import _NODE_RECHECK, _BlockHashes
from tests.conftest import World


class _Counting(_BlockHashes):
    """Notes every block the node is asked for."""

    asked: list[int | str]

    def _blocks(self, which: Sequence[int | str]) -> list[tuple[int, bytes] | None]:
        self.asked.extend(which)
        return super()._blocks(which)


def _hashes(world: World) -> _Counting:
    hashes = _Counting(world.chain)
    hashes.asked = []
    return hashes


def test_each_block_is_asked_once_while_the_newest_keeps_its_hash(world: World) -> None:
    tester = world.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.mine_blocks(5)
    hashes = _hashes(world)
    head, first = hashes.of(range(head_at(world) - 4, head_at(world) + 3))
    assert head == head_at(world)
    assert sorted(first) == list(range(head - 4, head + 1))  # none above the head
    assert all(first[n] == bytes(world.chain.w3.eth.get_block(n)["hash"]) for n in first)
    hashes.asked.clear()
    tester.mine_blocks(2)
    again_head, again = hashes.of(range(head - 4, head + 3))
    assert again_head == head + 2
    assert again == {**first, **{n: bytes(world.chain.w3.eth.get_block(n)["hash"]) for n in (head + 1, head + 2)}}
    # the head, the block checked last time, and only the one new block not seen yet
    assert hashes.asked == ["latest", head, head + 1]


def test_blocks_the_node_lost_and_mined_again_are_asked_anew(world: World) -> None:
    tester = world.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.mine_blocks(2)
    snapshot = tester.take_snapshot()
    tester.mine_blocks(3)
    hashes = _hashes(world)
    head, before = hashes.of(range(head_at(world) - 4, head_at(world) + 1))
    tester.revert_to_snapshot(snapshot)  # the last three blocks are gone...
    tester.time_travel(int(world.chain.w3.eth.get_block("latest")["timestamp"]) + 1000)
    tester.mine_blocks(4)  # ...and others stand in their place, and above
    after_head, after = hashes.of(range(head - 4, head + 2))
    assert after_head == head_at(world) > head
    assert all(after[n] == bytes(world.chain.w3.eth.get_block(n)["hash"]) for n in after)
    assert sorted(after) == list(range(head - 4, head + 2))
    assert [after[n] == before[n] for n in range(head - 4, head + 1)] == [True, True, False, False, False]


def head_at(world: World) -> int:
    return int(world.chain.w3.eth.block_number)


def test_workers_waiting_for_a_look_that_failed_do_not_each_spend_the_retries_again(world: World) -> None:
    # The node is away: one look spends the retry policy's time and fails; the workers that
    # queued behind it fail at once rather than one after another (a service stopping waits for
    # them), and the next look a moment later asks the node again.
    class Away(_Counting):
        def _blocks(self, which: Sequence[int | str]) -> list[tuple[int, bytes] | None]:
            self.asked.extend(which)
            raise ChainError("node away")

    hashes = Away(world.chain)
    hashes.asked = []
    errors: list[str] = []

    def look() -> None:
        try:
            hashes.of([1])
        except ChainError as exc:
            errors.append(str(exc))

    workers = [threading.Thread(target=look) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert hashes.asked == ["latest"]
    assert sorted(errors) == ["node away"] + ["the node did not answer a moment ago"] * 7
    time.sleep(_NODE_RECHECK)
    look()
    assert hashes.asked == ["latest", "latest"]
