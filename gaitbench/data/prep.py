"""``gaitbench prep``: a raw silhouette tree -> one aligned HDF5 store.

Sequences are decoded and aligned in a process pool (one task per sequence, results written in a
fixed order so the store is the same for any worker count) and appended to an atomic
`StoreWriter`: an interrupted or failed prep leaves no store behind.

Per frame the recipe is OpenGait's pretreatment (`gaitbench.data.align`); GREW frames, which ship
already at 64x64, are stored unchanged as OpenGait does; an ``opengait`` tree is already aligned
and is copied. A frame that cannot be decoded is skipped and counted, never a crash; a sequence
with no valid frame is left out and counted; in a pkl tree, a damaged (truncated, empty) sequence
file is skipped and counted.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from gaitbench import paths
from gaitbench.data.align import align_frame, check_frame_size
from gaitbench.data.layouts import LAYOUTS, SequenceSource, discover
from gaitbench.data.pickles import UnreadablePickle, load_array
from gaitbench.data.workers import check_workers, pool_context, single_threaded_opencv
from gaitbench.errors import GaitbenchError

# OpenGait warns about sequences shorter than this; we count them.
SHORT_SEQUENCE = 5
# Datasets whose every subject is recorded in every condition and view (in principle).
GRID_DATASETS = ("casia-b", "oumvlp")
# How many examples of each problem the summary keeps.
_EXAMPLES = 5


@dataclass
class SequenceResult:
    """What a worker sends back for one sequence."""

    subject: str
    condition: str
    view: str
    frames: np.ndarray  # uint8 [T, size, size], T may be 0
    raw_frames: int
    unreadable: list[str] = field(default_factory=list)
    damaged: bool = False  # a pkl sequence file that cannot be read (truncated, empty)


@dataclass
class PrepSummary:
    """Counts for the closing summary of ``gaitbench prep``."""

    dataset: str
    raw: Path
    store: Path
    size: int
    sequences: int = 0
    raw_frames: int = 0
    frames_kept: int = 0
    frames_dropped: int = 0
    unreadable_frames: int = 0
    empty_sequences: int = 0
    damaged_files: int = 0
    short_sequences: int = 0
    bytes: int = 0
    seconds: float = 0.0
    examples: dict[str, list[str]] = field(default_factory=dict)
    # Datasets recorded as a full subject x condition x view grid (CASIA-B, OU-MVLP): the cells
    # with no written sequence (absent from RAW or skipped) and the subjects that have any.
    grid_cells: int | None = None
    absent_sequences: int = 0
    incomplete_subjects: list[str] = field(default_factory=list)
    written: set[tuple[str, str, str]] = field(default_factory=set, repr=False)

    def note(self, kind: str, text: str) -> None:
        items = self.examples.setdefault(kind, [])
        if len(items) < _EXAMPLES:
            items.append(text)


def read_png(path: Path) -> np.ndarray | None:
    """One uint8 grayscale frame, or None if the file can't be decoded (missing, empty, corrupt).

    8-bit grey frames are read as stored, 8-bit colour and palette frames through OpenCV's
    grey conversion (both as ``cv2.IMREAD_GRAYSCALE``, the reference's read). 16-bit frames are
    read at their bit depth and scaled by the range they use: values up to 255 are kept (an
    8-bit mask saved as 16 bits), larger ones scaled from 0..2^b - 1 to 0..255, b the smallest
    of 10, 12 and 16 bits that holds the frame's maximum. (``IMREAD_GRAYSCALE`` would keep the
    high byte only: a 0..255 mask would become 0 and be dropped as empty.)
    """
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        return None
    if img.dtype == np.uint8:
        if img.ndim == 2:
            return img
        return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)  # colour or palette: the reference's
    if img.dtype != np.uint16:
        raise GaitbenchError(
            f"{path} holds {img.dtype} pixels: gaitbench reads 8- and 16-bit PNG silhouettes"
        )
    if img.ndim == 3:
        img = cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2GRAY)  # alpha dropped, 16 bits kept
    top = int(img.max())
    if top <= 255:
        return img.astype(np.uint8)
    full = next(2**bits - 1 for bits in (10, 12, 16) if top <= 2**bits - 1)
    return (img.astype(np.float32) * np.float32(255 / full) + np.float32(0.5)).astype(np.uint8)


def process_sequence(source: SequenceSource, size: int, mode: str) -> SequenceResult:
    """Decode and align one sequence. ``mode``: ``align`` | ``raw`` (GREW) | ``pkl``."""
    if mode == "pkl":
        try:
            frames = load_array(source.files[0])
        except UnreadablePickle:
            # A damaged sequence file is skipped and counted like an unreadable PNG frame; a
            # pickle naming foreign code (RefusedPickle) still stops prep.
            empty = np.zeros((0, size, size), np.uint8)
            return SequenceResult(
                source.subject, source.condition, source.view, empty, 0, damaged=True
            )
        if frames.dtype != np.uint8 or frames.ndim != 3 or frames.shape[1:] != (size, size):
            raise GaitbenchError(
                f"{source.files[0]} holds {frames.dtype} {tuple(frames.shape)}, expected uint8 "
                f"[frames, {size}, {size}]: pass the --size the tree was pretreated at"
            )
        return SequenceResult(source.subject, source.condition, source.view, frames, len(frames))
    kept, unreadable = [], []
    for path in source.files:
        img = read_png(path)
        if img is None:
            unreadable.append(str(path))
            continue
        if mode == "raw":
            if img.shape != (size, size):
                h, w = img.shape
                raise GaitbenchError(
                    f"{path} is {h}x{w}, but GREW frames are stored unchanged as {size}x{size}: "
                    "pass the --size the frames have (GREW ships 64x64)"
                )
            kept.append(img)
        else:
            aligned = align_frame(img, size)
            if aligned is not None:
                kept.append(aligned)
    frames = np.stack(kept) if kept else np.zeros((0, size, size), np.uint8)
    return SequenceResult(
        source.subject, source.condition, source.view, frames, len(source.files), unreadable
    )


def _run(
    sources: list[SequenceSource], size: int, mode: str, workers: int
) -> Iterator[SequenceResult]:
    """Results in the order of ``sources``."""
    if workers <= 1:
        for source in sources:
            yield process_sequence(source, size, mode)
        return
    chunk = max(1, min(16, len(sources) // (workers * 8)))
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=pool_context(), initializer=single_threaded_opencv
    ) as pool:
        try:
            yield from pool.map(
                process_sequence,
                sources,
                [size] * len(sources),
                [mode] * len(sources),
                chunksize=chunk,
            )
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def prep(
    dataset: str,
    raw: str | Path | None = None,
    out: str | Path | None = None,
    *,
    size: int = 64,
    workers: int | None = None,
    force: bool = False,
    layout: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PrepSummary:
    """Build the store for ``dataset`` from the raw tree ``raw``.

    ``raw`` and ``out`` default to `gaitbench.paths.default_raw` / `default_store`. ``layout``
    defaults to the dataset's own (``opengait`` reads a pretreated pkl tree for any dataset).
    ``progress(done, total)`` is called after each sequence. Returns the summary counts.
    """
    start = time.perf_counter()
    layout = layout or dataset
    if layout not in LAYOUTS:
        raise GaitbenchError(f"unknown dataset {dataset!r}: choose one of {', '.join(LAYOUTS)}")
    check_frame_size(size)
    check_workers(workers)
    raw = Path(raw) if raw is not None else paths.default_raw(dataset)
    out = Path(out) if out is not None else paths.default_store(dataset, size)
    if out.exists() and not force:
        raise GaitbenchError(f"store {out} already exists: pass --force to overwrite it")
    paths.check_output(out)
    sources = discover(layout, raw)
    mode = "pkl" if layout == "opengait" else "raw" if layout == "grew" else "align"
    workers = max(1, min(workers or os.cpu_count() or 1, len(sources)))

    summary = PrepSummary(dataset=dataset, raw=raw, store=out, size=size)
    # Imported here, not at the top: every pool worker imports this module, and the store's
    # h5py + pandas cost each worker about 0.2 CPU-s it never uses (benchmarks/prep.py).
    from gaitbench.data.store import StoreWriter

    kind, generator = tree_provenance(raw)
    writer = StoreWriter(
        out,
        dataset=dataset,
        size=size,
        source=str(raw.resolve()),
        force=force,
        kind=kind,
        generator=generator,
    )
    # closing(): on an error or Ctrl-C the pool is shut down right here (before the writer drops
    # its temporary file), not whenever the suspended generator happens to be collected.
    with writer, contextlib.closing(_run(sources, size, mode, workers)) as results:
        for done, result in enumerate(results, start=1):
            _count(summary, result)
            if len(result.frames):
                writer.add(result.subject, result.condition, result.view, result.frames)
            if progress is not None:
                progress(done, len(sources))
        if summary.sequences == 0:
            raise GaitbenchError(
                f"no sequence in {raw} has a valid frame ({summary.raw_frames} frames read, "
                f"{summary.unreadable_frames} unreadable): nothing written"
            )
    if dataset in GRID_DATASETS:
        _check_grid(summary)
    summary.bytes = out.stat().st_size
    summary.seconds = time.perf_counter() - start
    return summary


def tree_provenance(raw: Path) -> tuple[str, dict | None]:
    """``("synthetic", generator)`` for a PNG tree rendered by `gaitbench synth --format png`
    (it leaves ``gaitbench-synth.json`` at its root), else ``("real", None)``."""
    from gaitbench.data.synth import TREE_MARKER  # the name synth writes; kept out of the workers

    marker = raw / TREE_MARKER
    if not marker.is_file():
        return "real", None
    try:
        info = json.loads(marker.read_text())
        generator = info["generator"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GaitbenchError(
            f"{marker} is unreadable ({exc}): re-render the tree with gaitbench synth, or delete "
            "the file if the tree is not synthetic"
        ) from None
    return "synthetic", generator


def _count(summary: PrepSummary, result: SequenceResult) -> None:
    n = len(result.frames)
    key = f"{result.subject}/{result.condition}/{result.view}"
    if result.damaged:
        summary.damaged_files += 1
        summary.note("damaged", key)
        return
    summary.raw_frames += result.raw_frames
    summary.unreadable_frames += len(result.unreadable)
    for path in result.unreadable:
        summary.note("unreadable", path)
    summary.frames_kept += n
    summary.frames_dropped += result.raw_frames - len(result.unreadable) - n
    if n == 0:
        summary.empty_sequences += 1
        summary.note("empty", key)
        return
    summary.sequences += 1
    summary.written.add((result.subject, result.condition, result.view))
    if n < SHORT_SEQUENCE:
        summary.short_sequences += 1
        summary.note("short", key)


def _check_grid(summary: PrepSummary) -> None:
    """Count the grid cells (subject x condition x view, over the values seen) with no sequence."""
    subjects = sorted({k[0] for k in summary.written})
    conditions = {k[1] for k in summary.written}
    views = {k[2] for k in summary.written}
    per_subject = len(conditions) * len(views)
    summary.grid_cells = len(subjects) * per_subject
    summary.absent_sequences = summary.grid_cells - len(summary.written)
    have: dict[str, int] = {}
    for subject, _, _ in summary.written:
        have[subject] = have.get(subject, 0) + 1
    summary.incomplete_subjects = [s for s in subjects if have[s] < per_subject]
