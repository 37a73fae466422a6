"""``publiek segments``: segment model releases (the model owner and the taskforce).

Make the model signing key once (``keygen``; the taskforce keeps it, agents
and the aggregator pin its fingerprint), build a release from a model
owner's four CSV files (``build``), or the synthetic demo release
(``synthetic``), and check or describe a release file (``verify``, ``show``).
docs/segment-model.md describes the format and the inputs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.errors import friendly

if TYPE_CHECKING:
    from protocol.keys import SigningKey

segments_app = typer.Typer(
    no_args_is_help=True,
    help="Segment model releases: make the model key, build, verify and show a release.",
)

ModelKey = Annotated[
    str,
    typer.Option(
        "--model-key",
        help="The taskforce's model public key (base64url), as pinned out of band.",
    ),
]


def _write_new(path: Path, data: bytes) -> None:
    """Write a release file that does not exist yet: a published version never changes."""
    from protocol.errors import UsageError

    if path.exists():
        raise UsageError(
            f"{path} exists already",
            hint="a release of a version is written once; remove it or give --out",
        )
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)


def _signing_key(path: Path) -> SigningKey:
    from protocol.errors import UsageError
    from protocol.keys import SigningKey

    try:
        return SigningKey.load(path)
    except ValueError as exc:  # raw bytes that are not an Ed25519 secret key
        raise UsageError(
            f"{path} is not a model signing key",
            hint="give the file `publiek segments keygen` wrote",
        ) from exc


@segments_app.command("keygen")
@friendly
def segments_keygen(
    key: Annotated[
        Path, typer.Option("--key", help="Where to write the model signing key (mode 0600).")
    ] = Path("segment-model.key"),
) -> None:
    """Make the model signing key; print its public half for agents and the aggregator to pin."""
    from protocol.errors import UsageError
    from protocol.keys import SigningKey, fingerprint

    if key.exists():
        raise UsageError(
            f"{key} exists already",
            hint="the model key is made once; releases signed with a new key need a new pin",
        )
    signing = SigningKey.generate()
    signing.save(key)
    typer.echo(
        f"model key written to {key}; fingerprint {fingerprint(signing.public)}; pin this "
        "public key out of band:",
        err=True,
    )
    typer.echo(signing.public.to_text())


@segments_app.command("build")
@friendly
def segments_build(
    inputs: Annotated[
        Path,
        typer.Argument(
            help="Folder with segments.csv, municipalities.csv, pc4.csv and pc6.csv.",
        ),
    ],
    version: Annotated[
        str, typer.Option("--version", help="The release's version, e.g. cbs-2026.1.")
    ],
    key: Annotated[Path, typer.Option("--key", help="The model signing key (from keygen).")],
    created: Annotated[
        str | None, typer.Option("--created", help="Its date, YYYY-MM-DD (default: today).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="The release file (default: VERSION.segments).")
    ] = None,
) -> None:
    """Build and sign a release from a model owner's four CSV files."""
    from protocol.keys import fingerprint
    from protocol.segment_release import SUFFIX
    from segments.build import BuildInputs, build_release

    signing = _signing_key(key)
    built = build_release(
        BuildInputs.in_folder(inputs),
        version=version,
        created=created or datetime.now(UTC).date().isoformat(),
        key=signing,
    )
    target = out or Path(f"{version}{SUFFIX}")
    _write_new(target, built.data)
    tables = built.tables
    typer.echo(
        f"{target}: segment model {version}, {len(tables.segments)} segments, "
        f"{tables.pc4.height:,} PC4 areas, {tables.pc6.height:,} PC6 codes, "
        f"{tables.municipalities.height:,} municipalities; signed by {fingerprint(signing.public)}"
    )
    if built.normalised:
        typer.echo(
            f"{built.normalised:,} PC6 rows had rounded shares and were normalised to sum to 1",
            err=True,
        )


@segments_app.command("synthetic")
@friendly
def segments_synthetic(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The release file (default: synthetic-2026.1.segments)."),
    ] = None,
) -> None:
    """Write the synthetic demo release, signed by the PUBLIC demo key (not for real use)."""
    from protocol.keys import fingerprint
    from protocol.segment_release import DEMO_LABEL, SUFFIX
    from segments.synthetic import SYNTHETIC_VERSION, synthetic_model_key, synthetic_release

    target = out or Path(f"{SYNTHETIC_VERSION}{SUFFIX}")
    _write_new(target, synthetic_release())
    public = synthetic_model_key().public
    typer.echo(f"{target}: segment model {SYNTHETIC_VERSION}: {DEMO_LABEL}")
    typer.echo(f"demo key {public.to_text()} (fingerprint {fingerprint(public)})", err=True)


@segments_app.command("verify")
@friendly
def segments_verify(
    file: Annotated[Path, typer.Argument(help="The release file (VERSION.segments).")],
    model_key: ModelKey,
    expect_version: Annotated[
        str | None,
        typer.Option("--expect-version", help="Refuse a release of another version."),
    ] = None,
) -> None:
    """Verify a release against the pinned model key: signature, hashes, tables."""
    from protocol.keys import VerifyKey
    from protocol.segment_release import read_release_file, verify_release
    from segments.describe import verified

    release = verify_release(
        read_release_file(file),
        model_key=VerifyKey.from_text(model_key),
        where=str(file),
        expected_version=expect_version,
    )
    for line in verified(release, str(file)):
        typer.echo(line)


@segments_app.command("show")
@friendly
def segments_show(
    file: Annotated[Path, typer.Argument(help="The release file (VERSION.segments).")],
    model_key: Annotated[
        str | None,
        typer.Option(
            "--model-key", help="The pinned model public key; without it the signer is not checked."
        ),
    ] = None,
) -> None:
    """Describe a release: its segments, counts, whether it is synthetic, who signed it."""
    from protocol.keys import VerifyKey
    from protocol.segment_release import open_unpinned, read_release_file, verify_release
    from segments.describe import describe

    data = read_release_file(file)
    release = (
        verify_release(data, model_key=VerifyKey.from_text(model_key), where=str(file))
        if model_key is not None
        else open_unpinned(data, where=str(file))
    )
    for line in describe(release):
        typer.echo(line)
