"""The segment model a workspace releases with, and the warning while it is synthetic.

Two kinds of model file are installed (ADR 0025, ADR 0027):

* a signed release (``VERSION.segments``, ``publiek-segment-model/2``): the
  taskforce's model key is pinned once, out of band
  (``publiek agent segment-model pin-key --model-key KEY``), and a release is
  kept only when it verifies under that key, whether it was fetched from the
  enrolled aggregator (``segment-model fetch --version V``, which also checks
  that it is the version asked for) or installed from a file. It is verified
  again every time a release is drawn with it: the workspace's copy is a file
  like any other. The ingest, which runs every day and places households with
  the model (ADR 0029), reads it from a cache of the verified tables instead
  (:func:`model_for_ingest`), kept beside it and used only while the release
  file's bytes and the pinned key are those that were verified.
* an unsigned model file of format ``publiek-segment-model/1`` (the older
  demo format): checked by :meth:`SegmentModel.load` and kept as it is.

One model is installed at a time: installing one removes the other kind.
`agent submit` and `agent export` release with it unless `--segment-model`
names another file, and with the synthetic demo model when none is there. A
real install must not publish synthetic segments without knowing it, so
`agent ingest` (the command cron runs every day) and every release say so on
stderr while what the workspace would release with is synthetic.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import polars as pl

from agent import pinned_keys
from agent.segments import DEMO_VERSION, SegmentModel, is_demo, synthetic_demo_model
from agent.workspace import Workspace
from protocol.errors import PubliekError, UsageError
from protocol.keys import VerifyKey, fingerprint
from protocol.segment_release import SegmentRelease, read_release_file, verify_release
from protocol.state_files import write_private

INSTALLED_NAME = "segment-model.json"
RELEASE_NAME = "segment-model.segments"
MODEL_KEY_NAME = "segment-model-key.pub"
# The verified tables of the installed release, for the ingest (model_for_ingest).
CACHE_NAME = "segment-model.cache"
# A release file is a ZIP archive; a /1 model file is JSON.
ZIP_MAGIC = b"PK\x03\x04"

NOT_INSTALLED = (
    "warning: no segment model installed in this workspace: its releases would use the "
    "synthetic demo segment model; fetch the published one with "
    "`publiek agent segment-model fetch --version V` (docs/segment-model.md)"
)
DEMO_INSTALLED = (
    "warning: the segment model installed in this workspace is the synthetic demo model "
    f"({DEMO_VERSION}): its segments describe no real neighbourhood (docs/segment-model.md)"
)
SYNTHETIC_INSTALLED = (
    "warning: the segment model installed in this workspace is synthetic ({version}): its "
    "segments describe no real neighbourhood (docs/segment-model.md)"
)


def installed_path(workspace: Workspace) -> Path:
    return workspace.root / INSTALLED_NAME


def release_path(workspace: Workspace) -> Path:
    return workspace.root / RELEASE_NAME


def model_key_path(workspace: Workspace) -> Path:
    return workspace.root / MODEL_KEY_NAME


def has_model(workspace: Workspace) -> bool:
    return release_path(workspace).exists() or installed_path(workspace).exists()


# --- the pinned model key ------------------------------------------------------


def pin_model_key(workspace: Workspace, key_text: str) -> VerifyKey:
    """Pin the taskforce's model key; a different pinned key is never replaced."""
    return pinned_keys.pin(
        model_key_path(workspace),
        key_text,
        what="model key",
        copy_hint="copy it exactly as the taskforce published it",
    )


def pinned_model_key(workspace: Workspace) -> VerifyKey:
    path = model_key_path(workspace)
    if not path.exists():
        raise UsageError(
            "no segment model key is pinned in this workspace",
            hint="pin the key the taskforce gave you: publiek agent segment-model pin-key "
            "--model-key KEY",
        )
    return pinned_keys.read_pinned(path)


# --- installing ------------------------------------------------------------------


def fetch_release(workspace: Workspace, version: str) -> SegmentRelease:
    """Download release ``version`` from the enrolled aggregator, verify it under
    the pinned model key as that version, and keep it as the workspace's model.

    The key is read first: nothing is downloaded for a workspace that could
    not check it."""
    # Imported here: the ingest imports this module and never talks to the aggregator.
    from agent.client import AggregatorClient

    key = pinned_model_key(workspace)
    config = workspace.load_config()
    with AggregatorClient(config.aggregator_url) as client:
        data = client.segment_model(version)
    where = f"segment model {version} from {config.aggregator_url}"
    release = verify_release(data, model_key=key, where=where, expected_version=version)
    _keep_release(workspace, data, key, release)
    return release


def install_model(workspace: Workspace, source: Path) -> SegmentModel:
    """Check ``source`` and keep its bytes, unchanged, as the workspace's model: the
    bytes checked are the bytes kept (read once). A release file is verified
    under the pinned model key."""
    data = read_release_file(source)
    if data.startswith(ZIP_MAGIC):
        key = pinned_model_key(workspace)
        release = verify_release(data, model_key=key, where=str(source))
        return _keep_release(workspace, data, key, release)
    model = SegmentModel.parse(data, where=str(source))
    write_private(installed_path(workspace), data)
    release_path(workspace).unlink(missing_ok=True)
    return model


def _keep_release(
    workspace: Workspace, data: bytes, key: VerifyKey, release: SegmentRelease
) -> SegmentModel:
    """Keep the verified release's bytes, and its tables in the cache: the bytes
    just verified are the bytes kept, so the ingests that follow read the cache
    instead of verifying them again."""
    write_private(release_path(workspace), data)
    installed_path(workspace).unlink(missing_ok=True)
    model = model_of(release)
    _write_cache(workspace.root / CACHE_NAME, _stamp(data, key), model)
    return model


# --- using -----------------------------------------------------------------------


def model_of(release: SegmentRelease) -> SegmentModel:
    """The model the release code uses, from a verified release: its version,
    segments, PC4 shares (the fallback of a household without a PC6) and PC4
    centroids (the catchment bands)."""
    shares = release.pc4_shares().with_columns(pl.col("pc4").cast(pl.String))
    return SegmentModel(
        version=release.version,
        segments=release.segments,
        shares=shares,
        synthetic=release.synthetic,
        release_digest=release.digest,
        centroids=release.pc4.select(pl.col("pc4").cast(pl.Int64), "lat", "lon", "province"),
        pc6=release.pc6,
    )


def installed_release(workspace: Workspace) -> SegmentRelease:
    """The installed release, verified again under the pinned key."""
    data = read_release_file(release_path(workspace))
    return verify_release(
        data, model_key=pinned_model_key(workspace), where=f"the workspace's {RELEASE_NAME}"
    )


def model_for_release(workspace: Workspace, override: Path | None) -> SegmentModel:
    """``override`` if given, else the installed model, else the synthetic demo model."""
    if override is not None:
        data = read_release_file(override)
        if data.startswith(ZIP_MAGIC):
            return model_of(
                verify_release(data, model_key=pinned_model_key(workspace), where=str(override))
            )
        return SegmentModel.parse(data, where=str(override))
    if release_path(workspace).exists():
        return model_of(installed_release(workspace))
    if installed_path(workspace).exists():
        return SegmentModel.load(installed_path(workspace))
    return synthetic_demo_model()


def model_for_ingest(workspace: Workspace) -> SegmentModel | None:
    """The model the ingest places households with: the installed one, else the
    synthetic demo model (the model a release would use without ``--segment-model``).

    None when the installed release does not verify: the ingest then places
    nothing (the release places by PC4) and :func:`ingest_warning` says why."""
    if release_path(workspace).exists():
        try:
            return cached_release_model(workspace)
        except PubliekError:
            return None
    if installed_path(workspace).exists():
        return SegmentModel.load(installed_path(workspace))
    return synthetic_demo_model()


def cached_release_model(workspace: Workspace) -> SegmentModel:
    """The installed release's model, verified under the pinned key once per release
    file: its verified tables are kept in ``segment-model.cache/`` under the
    SHA-256 of the release file's bytes and the pinned key's fingerprint, and read
    from there while both are unchanged (verifying a full release costs 1–2 s,
    every daily ingest; docs/benchmarks.md, "Segment placement").

    The cache is as trusted as the rest of the workspace (the visits beside it
    are too); a release file replaced or a key pinned anew is verified again."""
    data = read_release_file(release_path(workspace))
    key = pinned_model_key(workspace)
    stamp = _stamp(data, key)
    folder = workspace.root / CACHE_NAME
    cached = _read_cache(folder, stamp)
    if cached is not None:
        return cached
    release = verify_release(data, model_key=key, where=f"the workspace's {RELEASE_NAME}")
    model = model_of(release)
    _write_cache(folder, stamp, model)
    return model


_CACHE_META = "model.json"


def _stamp(data: bytes, key: VerifyKey) -> dict[str, str]:
    """What a cache was written for: the release file's bytes and the pinned key."""
    return {"release_sha256": hashlib.sha256(data).hexdigest(), "model_key": fingerprint(key)}


def _read_cache(folder: Path, stamp: dict[str, str]) -> SegmentModel | None:
    """The cached model if the cache was written for ``stamp``, else None."""
    try:
        meta = json.loads((folder / _CACHE_META).read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("stamp") != stamp:
            return None
        digest = str(meta["release_digest"])
        return SegmentModel(
            version=str(meta["version"]),
            segments=tuple(meta["segments"]),
            shares=pl.read_parquet(folder / f"{digest}.pc4.parquet"),
            synthetic=bool(meta["synthetic"]),
            release_digest=digest,
            pc6=pl.read_parquet(folder / f"{digest}.pc6.parquet"),
            centroids=pl.read_parquet(folder / f"{digest}.centroids.parquet"),
        )
    except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
        return None  # no cache, or one cut short: verify the release again
    except PubliekError:
        return None  # tables that the model refuses: verify the release again


def _write_cache(folder: Path, stamp: dict[str, str], model: SegmentModel) -> None:
    """Write the verified tables, then the file that names them valid (last, so a
    run killed in between leaves a cache that is not used)."""
    assert model.release_digest is not None and model.pc6 is not None
    assert model.centroids is not None
    for old in folder.glob("*") if folder.exists() else ():
        old.unlink(missing_ok=True)
    tables = (("pc4", model.shares), ("pc6", model.pc6), ("centroids", model.centroids))
    for name, frame in tables:
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        write_private(folder / f"{model.release_digest}.{name}.parquet", buffer.getvalue())
    meta = {
        "stamp": stamp,
        "release_digest": model.release_digest,
        "version": model.version,
        "segments": list(model.segments),
        "synthetic": model.synthetic,
    }
    write_private(folder / _CACHE_META, json.dumps(meta, sort_keys=True).encode())


def describe_installed(workspace: Workspace) -> str:
    """The installed model in a few words, for `agent status` (never raises for a
    release that does not verify: it says so)."""
    if release_path(workspace).exists():
        try:
            release = installed_release(workspace)
        except PubliekError as exc:
            return f"an installed release that does not verify ({exc.detail})"
        synthetic = " (synthetic)" if release.synthetic else ""
        return f"{release.version}{synthetic}, release {release.digest[:16]}"
    if installed_path(workspace).exists():
        model = SegmentModel.load(installed_path(workspace))
        return f"{model.version}{' (the synthetic demo model)' if is_demo(model) else ''}"
    return "none installed (releases would use the synthetic demo model)"


def ingest_warning(workspace: Workspace) -> str | None:
    """The line `agent ingest` prints while the workspace would release synthetic
    segments (or with a model it cannot verify)."""
    if release_path(workspace).exists():
        try:
            model = cached_release_model(workspace)
        except PubliekError as exc:
            return f"warning: the installed segment model does not verify: {exc}"
        return SYNTHETIC_INSTALLED.format(version=model.version) if model.synthetic else None
    if not installed_path(workspace).exists():
        return NOT_INSTALLED
    if is_demo(SegmentModel.load(installed_path(workspace))):
        return DEMO_INSTALLED
    return None
