"""Peer groups: discipline × province × size class, merged upward when small.

An institution is compared with institutions like it. Its own group is
(discipline, province, size class); when fewer than ``k`` institutions
submitted in that group, the group is merged upward instead of dropped:
province → part of the country (CBS landsdeel) → the Netherlands → the
discipline across all sizes → the whole sector. The first level with at
least ``k`` institutions is the institution's peer group, and the group
records which smaller groups were merged into it (ADR 0007). That record
stays at the aggregator: what is published counts the merged groups and
never names them, since a group below ``k`` can be one institution (ADR 0012).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

SIZE_CLASSES = ("small", "medium", "large")
SECTOR = "sector"
ALL_SIZES = "all"
NATIONAL = "nl"

# CBS landsdelen (parts of the country).
PART_OF_COUNTRY = {
    "groningen": "noord", "friesland": "noord", "drenthe": "noord",
    "overijssel": "oost", "flevoland": "oost", "gelderland": "oost",
    "utrecht": "west", "noord-holland": "west", "zuid-holland": "west", "zeeland": "west",
    "noord-brabant": "zuid", "limburg": "zuid",
}  # fmt: skip

LEVELS = ("province", "part_of_country", "national", "discipline", "sector")


@dataclass(frozen=True)
class Member:
    """What benchmarks need to know about an institution (no values)."""

    institution_id: str
    discipline: str
    province: str
    size_class: str

    def chain(self) -> list[tuple[str, str]]:
        """Candidate groups from the narrowest to the sector, as (level, group id)."""
        part = PART_OF_COUNTRY.get(self.province, NATIONAL)
        d, s = self.discipline, self.size_class
        return [
            ("province", f"{d}/{self.province}/{s}"),
            ("part_of_country", f"{d}/{part}/{s}"),
            ("national", f"{d}/{NATIONAL}/{s}"),
            ("discipline", f"{d}/{NATIONAL}/{ALL_SIZES}"),
            ("sector", SECTOR),
        ]


@dataclass(frozen=True)
class PeerGroup:
    group_id: str
    level: str
    members: tuple[str, ...]
    merged_from: tuple[str, ...]


def assign(members: list[Member], k: int) -> tuple[dict[str, str], list[PeerGroup]]:
    """Each institution's peer group and every group a benchmark is computed for.

    The sector as a whole is always a group; a group is computed over *all*
    institutions that fall in it (not only the ones merged into it)."""
    sizes: Counter[str] = Counter()
    level_of: dict[str, str] = {}
    population: dict[str, list[str]] = defaultdict(list)
    for m in members:
        for level, gid in m.chain():
            sizes[gid] += 1
            level_of[gid] = level
            population[gid].append(m.institution_id)
    assignment: dict[str, str] = {}
    merged: dict[str, set[str]] = defaultdict(set)
    for m in members:
        chain = m.chain()
        chosen = next((gid for _, gid in chain if sizes[gid] >= k), SECTOR)
        assignment[m.institution_id] = chosen
        own = chain[0][1]
        if chosen != own:
            merged[chosen].add(own)
    group_ids = sorted(set(assignment.values()) | {SECTOR})
    groups = [
        PeerGroup(
            group_id=gid,
            level=level_of.get(gid, "sector"),
            members=tuple(sorted(population.get(gid, []))),
            merged_from=tuple(sorted(merged.get(gid, set()))),
        )
        for gid in group_ids
    ]
    return assignment, groups
