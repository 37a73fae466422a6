"""Peer groups merge upward (province → part of the country → national → …), never drop."""

from __future__ import annotations

from aggregator.peergroups import SECTOR, Member, assign


def members(n: int, discipline: str, province: str, size: str, tag: str) -> list[Member]:
    return [Member(f"{tag}-{i}", discipline, province, size) for i in range(n)]


def test_a_full_province_group_is_its_own_peer_group() -> None:
    assignment, groups = assign(members(5, "theater", "utrecht", "small", "a"), k=5)
    assert set(assignment.values()) == {"theater/utrecht/small"}
    assert {g.group_id for g in groups} == {"theater/utrecht/small", SECTOR}


def test_a_small_province_group_merges_into_its_part_of_the_country() -> None:
    ms = members(3, "theater", "utrecht", "small", "a") + members(
        2, "theater", "zeeland", "small", "b"
    )
    assignment, groups = assign(ms, k=5)
    assert set(assignment.values()) == {"theater/west/small"}
    west = next(g for g in groups if g.group_id == "theater/west/small")
    assert west.level == "part_of_country"
    assert west.merged_from == ("theater/utrecht/small", "theater/zeeland/small")
    assert len(west.members) == 5


def test_groups_merge_to_national_then_all_sizes_then_sector() -> None:
    ms = (
        members(2, "dance", "groningen", "large", "a")
        + members(3, "dance", "limburg", "large", "b")
        + members(2, "opera", "utrecht", "small", "c")
        + members(3, "opera", "limburg", "large", "d")
        + members(1, "film", "utrecht", "small", "e")
    )
    assignment, _ = assign(ms, k=5)
    assert assignment["a-0"] == "dance/nl/large"
    assert assignment["c-0"] == "opera/nl/all"
    assert assignment["e-0"] == SECTOR


def test_a_larger_group_includes_institutions_whose_own_group_was_big_enough() -> None:
    ms = members(5, "music", "utrecht", "medium", "a") + members(
        1, "music", "zeeland", "medium", "b"
    )
    assignment, groups = assign(ms, k=5)
    assert assignment["a-0"] == "music/utrecht/medium"
    assert assignment["b-0"] == "music/west/medium"
    west = next(g for g in groups if g.group_id == "music/west/medium")
    assert len(west.members) == 6
    assert west.merged_from == ("music/zeeland/medium",)


def test_the_sector_group_exists_even_below_k() -> None:
    assignment, groups = assign(members(2, "film", "utrecht", "small", "a"), k=5)
    assert assignment == {"a-0": SECTOR, "a-1": SECTOR}
    assert [g.group_id for g in groups] == [SECTOR]
