"""What ``publiek segments show`` and ``verify`` print about a release.

Counts and names only: the segments with their names, how many PC4 areas,
PC6 codes and municipalities, the households in all, whether the model is
synthetic and who signed it. No rows: a release is public, but a listing of
its tables belongs in a data tool, not in a terminal check.
"""

from __future__ import annotations

from protocol.keys import fingerprint
from protocol.segment_release import DEMO_LABEL, SegmentRelease


def synthetic_line(release: SegmentRelease) -> str:
    """Whether the release describes a real population, said loudly when not."""
    if release.demo_key:
        return f"synthetic: yes ({DEMO_LABEL})"
    if release.synthetic:
        return "synthetic: yes (the tables describe no real population)"
    return "synthetic: no"


def signer_line(release: SegmentRelease) -> str:
    checked = (
        "checked against the pinned model key"
        if release.pinned
        else "NOT checked against a pinned model key (give --model-key)"
    )
    return f"signed by: {fingerprint(release.signer)}, {checked}"


def counts(release: SegmentRelease) -> str:
    return (
        f"{release.pc4.height:,} PC4 areas, {release.pc6.height:,} PC6 codes, "
        f"{release.municipalities.height:,} municipalities, "
        f"{release.households:,} households"
    )


def describe(release: SegmentRelease) -> list[str]:
    """The lines of ``publiek segments show``."""
    manifest = release.manifest
    width = max(len(s.id) for s in manifest.segments) + 2
    return [
        f"segment model {release.version} ({manifest.format}), created {manifest.created}",
        synthetic_line(release),
        signer_line(release),
        f"digest: sha256:{release.digest}",
        f"segments ({len(manifest.segments)}):",
        *(f"  {s.id.ljust(width)}{s.name.nl} / {s.name.en}" for s in manifest.segments),
        counts(release),
    ]


def verified(release: SegmentRelease, where: str) -> list[str]:
    """The lines of ``publiek segments verify`` (the second only for a synthetic model)."""
    lines = [
        (
            f"{where}: verified: segment model {release.version}, {len(release.segments)} "
            f"segments, {counts(release)}; signed by the pinned model key "
            f"{fingerprint(release.signer)}; digest sha256:{release.digest}"
        )
    ]
    if release.synthetic:
        lines.append(synthetic_line(release))
    return lines
