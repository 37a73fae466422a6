"""Combining sketches and the publication rules of overlaps (aggregator/overlaps.py):
one test per denial."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from aggregator.overlap_estimators import OverlapEstimate, intersection
from aggregator.overlaps import (
    DISCIPLINE,
    PEER_GROUP,
    POOLED,
    PROVINCE,
    SECTOR,
    PeriodSketches,
    check_k,
    check_named_pair,
    combined,
    crossover,
    listed,
    named_pair,
    own_view,
    pooled,
    shown,
)
from dp.measurements import GAUSSIAN, rho_for_epsilon
from dp.sketches import SketchConfig
from protocol.errors import (
    NamedOverlapNotOptedIn,
    NamedOverlapOtherNotOptedIn,
    NamedOverlapOtherNotSubmitted,
    NamedOverlapSelfPair,
    NoSketches,
    NotFound,
    OverlapBelowK,
)
from tests.aggregator.overlap_sectors import PROVINCE_OF, Sent, released, sector

RHO = rho_for_epsilon(1.0, 1e-7)


@pytest.fixture(scope="module")
def sent() -> list[Sent]:
    return sector(np.random.default_rng(5), GAUSSIAN, RHO)[0]


# --- combining ---------------------------------------------------------------------


def test_a_group_sketch_adds_buckets_households_variances_and_kurtosis(sent: list[Sent]) -> None:
    parts = [sent[1].parts["music"], sent[1].parts["theater"]]
    group = combined(parts)
    assert group.buckets == tuple(
        int(a + b) for a, b in zip(*(p.buckets for p in parts), strict=True)
    )
    assert group.households == parts[0].households + parts[1].households
    assert group.bucket_variance == pytest.approx(2 * parts[0].bucket_variance)
    assert group.count_variance == pytest.approx(2 * parts[0].count_variance)
    assert group.bucket_kurtosis == parts[0].bucket_kurtosis + parts[1].bucket_kurtosis


def test_a_sketch_is_not_combined_with_itself_or_another_config(sent: list[Sent]) -> None:
    part = sent[0].parts["theater"]
    with pytest.raises(ValueError, match="itself"):
        combined([part, part])
    other = released(
        np.arange(10, dtype=np.uint64),
        SketchConfig("2026-Q4", part.config.width, part.config.seed),
        GAUSSIAN,
        RHO,
        np.random.default_rng(1),
    )
    with pytest.raises(ValueError, match="periods"):
        combined([part, other])


def test_a_period_without_sketches_has_no_overlaps() -> None:
    with pytest.raises(NoSketches):
        PeriodSketches.of([])


# --- named pairs: one test per denial ------------------------------------------------


CONSENTS = {"a": True, "b": True, "c": False}


def test_a_named_pair_of_two_consenting_institutions_is_shown(sent: list[Sent]) -> None:
    check_named_pair("a", "b", CONSENTS)
    s = PeriodSketches.of(sent)
    pair = named_pair(s, "a", "b")
    assert pair == intersection(s.institution("a"), s.institution("b"))


def test_a_self_pair_is_refused() -> None:
    with pytest.raises(NamedOverlapSelfPair):
        check_named_pair("a", "a", CONSENTS)


def test_a_named_pair_is_refused_when_the_asking_institution_did_not_opt_in() -> None:
    with pytest.raises(NamedOverlapNotOptedIn):
        check_named_pair("c", "a", CONSENTS)


def test_one_that_did_not_opt_in_learns_nothing_of_the_other() -> None:
    """Its own consent is checked first: the same answer whether the other
    submitted or not."""
    with pytest.raises(NamedOverlapNotOptedIn):
        check_named_pair("c", "absent", CONSENTS)


def test_a_named_pair_is_refused_when_the_other_did_not_submit() -> None:
    with pytest.raises(NamedOverlapOtherNotSubmitted):
        check_named_pair("a", "absent", CONSENTS)


def test_a_named_pair_is_refused_when_the_other_did_not_opt_in() -> None:
    with pytest.raises(NamedOverlapOtherNotOptedIn):
        check_named_pair("a", "c", CONSENTS)


def test_a_named_pair_needs_the_asking_institutions_own_sketch() -> None:
    with pytest.raises(NotFound):
        check_named_pair("absent", "a", CONSENTS)


def test_named_pair_reads_the_consent_of_each_submission(sent: list[Sent]) -> None:
    refusing = [dataclasses.replace(x, named_overlaps=x.institution_id != "c") for x in sent]
    s = PeriodSketches.of(refusing)
    with pytest.raises(NamedOverlapOtherNotOptedIn):
        named_pair(s, "a", "c")


# --- the k rule ---------------------------------------------------------------------


def test_the_k_rule_refuses_an_answer_over_fewer_than_k_institutions() -> None:
    check_k(5, 5, what="the sector")
    with pytest.raises(OverlapBelowK, match="4 institutions, fewer than k = 5"):
        check_k(4, 5, what="the sector")


def test_a_cell_is_listed_only_with_k_institutions_on_each_side() -> None:
    assert listed(5, 7, 5)
    assert not listed(4, 7, 5)
    assert not listed(7, 4, 5)


def test_groups_below_k_are_pooled() -> None:
    members = {"x": {"1", "2", "3"}, "y": {"4"}, "z": {"5", "6"}, "w": {"7", "8", "9"}}
    assert pooled(members, 3) == {"x": "x", "y": POOLED, "z": POOLED, "w": "w"}


def test_a_pool_below_k_takes_the_smallest_group_so_no_difference_singles_one_out() -> None:
    members = {"x": {"1", "2", "3"}, "y": {"4"}, "w": {"5", "6", "7", "8"}}
    assert pooled(members, 3) == {"x": POOLED, "y": POOLED, "w": "w"}


def test_a_pool_of_groups_nobody_counts_takes_no_other_group() -> None:
    members = {"x": {"1", "2", "3"}, "y": set(), "w": {"5", "6", "7", "8"}}
    assert pooled(members, 3) == {"x": "x", "y": POOLED, "w": "w"}


def test_groups_of_k_or_more_keep_their_names() -> None:
    assert pooled({"x": {"1", "2"}, "y": {"2", "3"}}, 2) == {"x": "x", "y": "y"}


def test_a_crossover_over_fewer_than_k_institutions_is_refused(sent: list[Sent]) -> None:
    with pytest.raises(OverlapBelowK):
        crossover(PeriodSketches.of(sent), DISCIPLINE, k=7)


def test_a_crossover_pools_groups_below_k(sent: list[Sent]) -> None:
    s = PeriodSketches.of(sent)
    by_discipline = crossover(s, DISCIPLINE, k=3)  # every discipline has three institutions
    assert by_discipline.groups == ("dance", "music", "theater")
    peer = {"a": "g1", "b": "g1", "c": "g1", "d": "g2", "e": "g2", "f": "g3"}
    matrix = crossover(s, PEER_GROUP, k=3, group_of=peer)
    assert matrix.groups == ("g1", POOLED)
    assert matrix.institutions == (3, 3)


def test_a_crossover_leaves_out_pairs_of_an_institution_with_itself(sent: list[Sent]) -> None:
    """Institution b's music and theater parts hold different households: the
    cell of a group of b alone with itself counts no pair."""
    s = PeriodSketches.of([x for x in sent if x.institution_id == "b"] + sent[:1])
    matrix = crossover(s, PROVINCE, k=1, group_of={"a": "p", "b": "q"})
    assert matrix.cell("q", "q") == OverlapEstimate(0.0, 0.0)
    cell, pair = matrix.cell("p", "q"), intersection(s.institution("a"), s.institution("b"))
    assert cell.estimate == pytest.approx(pair.estimate)
    # the same error, but for clipping the plugged-in overlaps part by part
    assert cell.std == pytest.approx(pair.std, rel=1e-3)


def test_the_own_view_needs_k_other_institutions(sent: list[Sent]) -> None:
    with pytest.raises(OverlapBelowK):
        own_view(PeriodSketches.of(sent), "a", k=6, province_of=PROVINCE_OF)


def test_the_own_view_needs_the_institutions_own_sketch(sent: list[Sent]) -> None:
    with pytest.raises(NotFound):
        own_view(PeriodSketches.of(sent), "absent", k=2, province_of=PROVINCE_OF)


def test_the_own_view_pools_sides_of_fewer_than_k_other_institutions(sent: list[Sent]) -> None:
    sides = own_view(PeriodSketches.of(sent), "a", k=3, province_of=PROVINCE_OF)
    names = [(side.kind, side.name, side.institutions) for side in sides]
    # theater has two other institutions (b, f): pooled, with dance (d, e, f) so that
    # the pool counts k; utrecht (b, c) likewise with gelderland
    assert names == [
        (SECTOR, SECTOR, 5),
        (DISCIPLINE, "music", 3),
        (DISCIPLINE, POOLED, 4),
        (PROVINCE, POOLED, 5),
    ]
    assert all(side.institutions >= 3 for side in sides)


# --- what is shown --------------------------------------------------------------------


def test_a_too_uncertain_figure_shows_no_number() -> None:
    figure = shown(OverlapEstimate(100.0, 40.0))  # half-width 78 > 50
    assert figure.to_dict() == {
        "estimate": None,
        "ci95_low": None,
        "ci95_high": None,
        "too_uncertain": True,
    }


def test_a_negative_estimate_is_never_shown() -> None:
    assert shown(OverlapEstimate(-20.0, 1.0)).too_uncertain


def test_a_clear_figure_is_whole_households_with_its_interval() -> None:
    figure = shown(OverlapEstimate(1000.4, 100.0))
    assert figure.estimate == 1000
    assert figure.ci95_low == round(1000.4 - 1.959963984540054 * 100.0)
    assert not figure.too_uncertain
    assert figure.ci95_low is not None and figure.ci95_low >= 0


def test_an_infinite_error_shows_no_number() -> None:
    assert shown(OverlapEstimate(2.0, math.inf)).too_uncertain
