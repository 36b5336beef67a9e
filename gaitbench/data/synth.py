"""``gaitbench synth``: a synthetic, CASIA-B-shaped silhouette dataset.

Every sequence is rendered from an articulated 3-D walker (`gaitbench.data.synth_body`) seen by a
camera at one of the view azimuths, with CASIA-B's layout: ids 001..N, conditions nm-01..06,
bg-01..02 (a carried backpack, shoulder bag or hand bag), cl-01..02 (a coat), views 000..180.

* ``fmt="png"`` writes the raw tree ``OUT/<id>/<cond>/<view>/<id>-<cond>-<view>-<frame>.png``
  (320x240, 0/255), the input of ``gaitbench prep casia-b``.
* ``fmt="store"`` renders the same 320x240 frames in memory and aligns them with the same
  `align_sequence` that prep uses, so the store equals ``prep`` of the PNG tree byte for byte
  (PNG is lossless) without paying for PNG encoding and decoding.

Determinism: each subject is drawn from ``(seed, subject)`` and each sequence from
``(seed, subject, condition, view)``, so output bytes do not depend on the worker count or on
which sequences are rendered; sequences are written in a fixed order.

Difficulty (``--difficulty``) scales these knobs (see ``synth_body.DIFFICULTY``): ``people``, how
far apart subjects' body shapes and gait styles are; ``within``, each person's sequence-to-sequence
variation (speed, amplitudes, arm swing, lean, heading, camera distance/height/zoom); ``cover``,
how much the bags and coats change the outline; ``noise``, segmentation noise (ragged edges,
holes, broken and blank frames, shadow blobs); ``garment``, the size of each person's own clothing
and hair bulges, and ``coat_shape``, the size of a coat's own bulges (hood, collar, pockets) that
replace the clothing bulges of the parts it covers, and ``outline``, how far a sequence's
silhouettes are dilated or eroded (one radius per sequence, up to that many pixels of the 320x240
frame: the background-subtraction threshold of each recording; all three 0 in every level of
generator version 1, where a coat is a smooth shell over the person and every sequence has the
body's exact outline), and ``thicken``, the radius by which every silhouette is dilated (how much
fuller than the bare body a segmentation of a clothed person is; 0 in every level of version 1),
and ``motion``, a factor on ``people`` for the gait's motion alone (cadence, stride, joint swings,
timing, asymmetries; 1 in every level of version 1), and ``rig``, how far each view's camera
stands off its ideal place (azimuth, height, distance, aim), the same offsets for every sequence
of the view, as with a rig of hand-placed cameras (0 in every level of version 1), and
``narrow``, how close to the body's midline the legs and arms are carried (0 in every level of
version 1, whose walkers show a gap between the legs in almost every row of the lower body from
the front, where real CASIA-B silhouettes show one in about a tenth), and ``pace``, how much the
gait drifts from step to step within a sequence (cadence, joint amplitudes, arm swing, trunk
lean; 0 in every level of version 1, whose walkers repeat one gait cycle exactly), and ``coat``,
a factor on how bulky a coat is and how far below the hip it reaches (1 in every level of
version 1, whose coat hides the legs to the knee and adds about twice as much to the
silhouette's area as the coats of real CASIA-B's cl sequences do; 0.4 comes close to them),
and ``leg_bulges``, a factor on the size of a person's own ``garment`` bulges on the thighs and
shanks (1 in every level; 0 = plain trousers), and ``shadow``, the largest shadow on the floor
beside the feet (0 in every level, where the shadow's size follows ``noise`` as in version 1; above
0 a size of its own, so a store without segmentation noise can still have shadows), and
``leg_shape``, a factor on how far a person's leg thickness and foot angle lie from the mean (1 in
every level; 0 = everyone's legs of one thickness and foot angle, the arms untouched), and
``coat_bulk``, a factor on top of ``coat`` for the coat's girth and sleeves alone, its hem left
where ``coat`` puts it (1 in every level), and ``smooth``, the standard deviation in pixels of the
320x240 frame of a Gaussian blur that every silhouette goes through before it is thresholded again
(the outline's fine detail a background subtraction's filtering removes; 0 in every level).
``--tune KNOB=VALUE,...`` replaces single knobs of the level (``SynthSpec.tune``; recorded in the
store's ``generator`` attribute and its results files), which is how the generator is calibrated
against real CASIA-B (results/synth-vs-real/).

Calibration: rank-1 (%) of a nearest neighbour on gait energy images (GEI-NN: mean aligned
64x44 silhouette per sequence, Euclidean distance), CASIA-B protocol (gallery nm-01..04; probes
nm-05..06, bg-01..02, cl-01..02; per-view averages) on the 50 test subjects 075..124 of seed 0,
11 views, measured with 30 frames per sequence (``calibrate``; chance is 2 %; ``python3
docs/synth_levels.py`` prints this table, about 2 minutes a level on one core):

    difficulty  gallery views            NM     BG     CL    NM per probe view 000 / 090 / 180
    easy        other views (protocol)   27.9   21.2   9.2   25.5 / 25.9 / 25.2
    easy        same view only           98.5   81.5   21.0  97.0 / 100.0 / 99.0
    standard    other views (protocol)   19.5   14.6   6.0   20.1 / 16.7 / 20.9
    standard    same view only           80.9   58.1   10.3  89.0 / 86.0 / 87.0
    hard        other views (protocol)   11.7   9.2    4.1   14.0 / 8.4 / 15.2
    hard        same view only           45.2   31.3   6.3   65.0 / 35.0 / 61.0

NM > BG > CL holds and nothing reaches 100 %. A GEI has no view invariance, so its cross-view
figure mostly measures how alike neighbouring views look; the same-view figure shows how
separable people are. Known gap: front and back views (0 / 180) are not harder than the side for
a GEI here (the body's width cues dominate there), so the real data's dip at 0 / 180 is not
reproduced by this baseline.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from gaitbench import paths
from gaitbench.data import synth_body as body
from gaitbench.data.align import align_sequence, check_frame_size
from gaitbench.data.workers import check_workers, pool_context, single_threaded_opencv
from gaitbench.errors import GaitbenchError
from gaitbench.paths import atomic_write

CONDITIONS = tuple(f"nm-{i:02d}" for i in range(1, 7)) + ("bg-01", "bg-02", "cl-01", "cl-02")
DEFAULT_VIEWS = tuple(range(0, 181, 18))
DIFFICULTIES = tuple(body.DIFFICULTY)
CASIA_B_SUBJECTS = 124
TRAIN_FRACTION = 0.6
# Written at the root of a rendered PNG tree: prep reads it and marks the store synthetic.
TREE_MARKER = "gaitbench-synth.json"

# Recorded in every synthetic store (attribute ``generator``) and so in every results file made
# on one: bump it whenever a change makes the renderer draw different silhouettes.
GENERATOR_VERSION = 1
PREVIEW_SUBJECTS = 8  # rows of a contact sheet: 3 conditions each


@dataclass(frozen=True)
class SynthSpec:
    """What to render: subjects 1..``subjects``, ``views`` in degrees, frame count range."""

    subjects: int = CASIA_B_SUBJECTS
    views: tuple[int, ...] = DEFAULT_VIEWS
    frames: tuple[int, int] = (60, 100)
    size: int = 64
    seed: int = 0
    difficulty: str = "standard"
    # (knob, value) pairs that replace the difficulty level's own (``--tune within=1.3``), sorted.
    tune: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if self.subjects < 1:
            raise GaitbenchError(f"--subjects must be at least 1, got {self.subjects}")
        if not self.views:
            raise GaitbenchError("--views is empty: give e.g. 0:180:18 or 0,90,180")
        if any(not 0 <= v < 360 for v in self.views):
            raise GaitbenchError(f"--views must lie in 0..359 degrees, got {list(self.views)}")
        lo, hi = self.frames
        if not 1 <= lo <= hi:
            raise GaitbenchError(f"--frames must be LO-HI with 1 <= LO <= HI, got {lo}-{hi}")
        check_frame_size(self.size)
        if not 0 <= self.seed < 2**32:
            raise GaitbenchError(f"--seed {self.seed}: give a seed in 0..2**32 - 1")
        if self.difficulty not in body.DIFFICULTY:
            raise GaitbenchError(
                f"unknown difficulty {self.difficulty!r}: choose one of {', '.join(DIFFICULTIES)}"
            )
        for knob, value in self.tune:
            if knob not in body.KNOBS:
                raise GaitbenchError(
                    f"--tune {knob}: unknown knob; choose among {', '.join(body.KNOBS)}"
                )
            if not (math.isfinite(value) and value >= 0):
                raise GaitbenchError(f"--tune {knob}={value}: give a finite value >= 0")

    @property
    def knobs(self) -> dict[str, float]:
        """The generator's knobs: the difficulty level's, with ``tune`` applied."""
        return {**body.DIFFICULTY[self.difficulty], **dict(self.tune)}

    @property
    def id_width(self) -> int:
        return max(3, len(str(self.subjects)))

    def subject_id(self, subject: int) -> str:
        return f"{subject:0{self.id_width}d}"

    def sequences(self) -> list[tuple[int, str, int]]:
        """Every (subject, condition, view) in writing order."""
        return [
            (s, c, v) for s in range(1, self.subjects + 1) for c in CONDITIONS for v in self.views
        ]

    def partition(self) -> dict | None:
        """The store's own split: None for 124 subjects (the official CASIA-B split applies)."""
        if self.subjects == CASIA_B_SUBJECTS:
            return None
        ids = [self.subject_id(s) for s in range(1, self.subjects + 1)]
        n_train = min(max(1, round(TRAIN_FRACTION * len(ids))), len(ids) - 1) if len(ids) > 1 else 1
        return {"train": ids[:n_train], "test": ids[n_train:]}

    def generator(self) -> dict:
        """The renderer's parameters, as stores and results files record them."""
        return {
            "generator": "gaitbench synth",
            "version": GENERATOR_VERSION,
            "subjects": self.subjects,
            "views": list(self.views),
            "frames": list(self.frames),
            "size": self.size,
            "difficulty": self.difficulty,
            "seed": self.seed,
        } | ({"tune": dict(self.tune)} if self.tune else {})


def parse_views(text: str) -> tuple[int, ...]:
    """``"0:180:18"`` (start:stop:step, stop included) or ``"0,90,180"`` -> view degrees."""
    try:
        if ":" in text:
            start, stop, step = (int(x) for x in text.split(":"))
            if step <= 0:
                raise ValueError
            return tuple(range(start, stop + 1, step))
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise GaitbenchError(
            f"--views {text!r} is not START:STOP:STEP or a comma list: use e.g. 0:180:18"
        ) from None


def parse_frames(text: str) -> tuple[int, int]:
    """``"60-100"`` or ``"80"`` -> (low, high) frame counts."""
    try:
        lo, _, hi = text.partition("-")
        return (int(lo), int(hi or lo))
    except ValueError:
        raise GaitbenchError(f"--frames {text!r} is not LO-HI: use e.g. 60-100") from None


def parse_tune(text: str) -> tuple[tuple[str, float], ...]:
    """``"within=1.3,noise=1.5"`` -> ``(("noise", 1.5), ("within", 1.3))``; ``""`` -> ``()``."""
    pairs = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        knob, sep, value = item.partition("=")
        try:
            pairs[knob.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise GaitbenchError(
                f"--tune {item!r} is not KNOB=VALUE: use e.g. within=1.3,noise=1.5 "
                f"(knobs: {', '.join(body.KNOBS)})"
            )
    return tuple(sorted(pairs.items()))


def format_tune(tune: tuple[tuple[str, float], ...]) -> str:
    """The inverse of `parse_tune`: ``"noise=1.5,within=1.3"``."""
    return ",".join(f"{knob}={value:g}" for knob, value in tune)


def subject_rng(seed: int, subject: int) -> np.random.Generator:
    return np.random.default_rng([seed, 0, subject])


def sequence_rng(seed: int, subject: int, condition: str, view: int) -> np.random.Generator:
    return np.random.default_rng([seed, 1, subject, CONDITIONS.index(condition), view])


def garment_rng(seed: int, subject: int) -> np.random.Generator:
    """A stream of its own, so that ``garment`` 0 draws nothing and leaves every other draw (and
    the stores of generator version 1) as they were."""
    return np.random.default_rng([seed, 2, subject])


def coat_rng(seed: int, subject: int) -> np.random.Generator:
    """The person's coat's own bulges (``coat_shape``): a stream of its own, as `garment_rng`."""
    return np.random.default_rng([seed, 3, subject])


def outline_rng(seed: int, subject: int, condition: str, view: int) -> np.random.Generator:
    """The sequence's outline radius (``outline``): a stream of its own, as `garment_rng`."""
    return np.random.default_rng([seed, 4, subject, CONDITIONS.index(condition), view])


def rig_rng(seed: int, view: int) -> np.random.Generator:
    """The view's camera offsets (``rig``): one stream per view, shared by every sequence."""
    return np.random.default_rng([seed, 5, view])


def pace_rng(seed: int, subject: int, condition: str, view: int) -> np.random.Generator:
    """The sequence's step-to-step drift (``pace``): a stream of its own, as `garment_rng`."""
    return np.random.default_rng([seed, 6, subject, CONDITIONS.index(condition), view])


def render_sequence(
    spec: SynthSpec, subject: int, condition: str, view: int, noise: bool = True
) -> np.ndarray:
    """Render one raw sequence: uint8 ``[T, 240, 320]`` with values 0 / 255 (``noise=False``: the
    body's exact outline, without the segmentation's smoothing, thickening, noise and outline
    jitter)."""
    knobs = spec.knobs
    person = body.sample_subject(subject_rng(spec.seed, subject), knobs)
    garment = body.sample_garment(garment_rng(spec.seed, subject), knobs["garment"])
    coat = body.sample_garment(
        coat_rng(spec.seed, subject), knobs["coat_shape"], body.COAT_ANCHORS, reach=(1.1, 1.5)
    )
    if garment or coat:
        person = dataclasses.replace(person, garment=garment, coat_garment=coat)
    rng = sequence_rng(spec.seed, subject, condition, view)
    walk = body.sample_walk(rng, view, spec.frames, knobs)
    if knobs["pace"]:
        walk = body.vary_pace(pace_rng(spec.seed, subject, condition, view), walk, knobs["pace"])
    parts = body.build_body(person, walk, condition, knobs)
    azimuth = 0.0
    if knobs["rig"]:
        azimuth, walk = body.place_camera(rig_rng(spec.seed, view), walk, knobs["rig"])
    frames = body.rasterise(parts, body.Camera.at_view(view + azimuth, walk))
    if noise:
        body.smooth(frames, knobs["smooth"])
        body.thicken(frames, knobs["thicken"])
        body.outline_jitter(
            frames, outline_rng(spec.seed, subject, condition, view), knobs["outline"]
        )
        body.segmentation_noise(frames, rng, walk.noise)
    return frames


# ---------------------------------------------------------------------------------------------
# Workers. Module-level functions so a process pool can pickle them.


def _render_aligned(job: tuple[SynthSpec, int, str, int]) -> np.ndarray:
    spec, subject, condition, view = job
    return align_sequence(render_sequence(spec, subject, condition, view), spec.size)


def _render_png(job: tuple[SynthSpec, int, str, int, str]) -> int:
    spec, subject, condition, view, root = job
    frames = render_sequence(spec, subject, condition, view)
    sid, v = spec.subject_id(subject), f"{view:03d}"
    folder = Path(root) / sid / condition / v
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames, 1):
        name = folder / f"{sid}-{condition}-{v}-{i:03d}.png"
        if not cv2.imwrite(str(name), frame):
            raise GaitbenchError(f"cannot write {name}: check the disk has space and is writable")
    return len(frames)


def _map(fn: Callable, jobs: Sequence, workers: int) -> Iterator:
    """Ordered map, in a process pool when ``workers > 1``: results arrive in ``jobs`` order."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(fn, jobs)
        return
    with pool_context().Pool(workers, initializer=single_threaded_opencv) as pool:
        yield from pool.imap(fn, jobs, chunksize=max(1, min(8, len(jobs) // (workers * 8))))


def default_workers() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


@dataclass
class SynthResult:
    path: Path
    sequences: int  # sequences written (a store leaves out sequences whose frames all drop)
    frames: int  # raw frames rendered


def check_output(out: Path, fmt: str, force: bool) -> None:
    """Refuse an unknown format, an existing output (without ``force``) or one that cannot be
    written (see `gaitbench.paths.check_output`) before any rendering."""
    if fmt not in ("store", "png"):
        raise GaitbenchError(f"unknown --format {fmt!r}: choose png or store")
    if out.exists() and not force:
        raise GaitbenchError(f"{out} already exists: pass --force to overwrite it")
    if out.exists() and (out.is_dir() != (fmt == "png")):
        kind = "folder" if fmt == "png" else "store file (.h5)"
        raise GaitbenchError(
            f"{out} exists and is not a {kind}: choose another OUT for --format {fmt}"
        )
    paths.check_output(out, folder=fmt == "png")


def synthesize(
    out: str | os.PathLike,
    spec: SynthSpec,
    fmt: str = "store",
    *,
    workers: int | None = None,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> SynthResult:
    """Render the dataset to ``out`` (a store file for ``fmt="store"``, a folder for ``"png"``).

    ``progress`` is called with 1 after each sequence. Nothing is left at ``out`` on failure.
    """
    out = Path(out)
    check_output(out, fmt, force)
    check_workers(workers)
    workers = default_workers() if workers is None else workers
    tick = progress or (lambda n: None)
    seqs = spec.sequences()
    if fmt == "store":
        from gaitbench.data.store import StoreWriter

        source = (
            f"gaitbench synth seed={spec.seed} difficulty={spec.difficulty} "
            f"subjects={spec.subjects} views={','.join(map(str, spec.views))} "
            f"frames={spec.frames[0]}-{spec.frames[1]}"
        ) + (f" tune={format_tune(spec.tune)}" if spec.tune else "")
        jobs = [(spec, s, c, v) for s, c, v in seqs]
        written = 0
        total = 0
        with StoreWriter(
            out,
            dataset="casia-b",
            size=spec.size,
            source=source,
            force=force,
            partition=spec.partition(),
            kind="synthetic",
            generator=spec.generator(),
        ) as writer:
            for (s, c, v), frames in zip(seqs, _map(_render_aligned, jobs, workers)):
                if len(frames):
                    writer.add(spec.subject_id(s), c, f"{v:03d}", frames)
                    written += 1
                total += len(frames)
                tick(1)
        return SynthResult(out, written, total)
    if fmt != "png":
        raise GaitbenchError(f"unknown --format {fmt!r}: choose png or store")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    jobs = [(spec, s, c, v, str(tmp)) for s, c, v in seqs]
    total = 0
    try:
        for n in _map(_render_png, jobs, workers):
            total += n
            tick(1)
        # The tree says what it is, so that `prep` marks its store synthetic (not real).
        (tmp / TREE_MARKER).write_text(
            json.dumps({"format": "gaitbench-synth-tree", "generator": spec.generator()}, indent=1)
        )
        if out.exists():
            old = out.with_name(f".{out.name}.{os.getpid()}.old")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SynthResult(out, len(seqs), total)


# ---------------------------------------------------------------------------------------------
# Difficulty check: nearest neighbour on gait energy images under the CASIA-B protocol.

GALLERY = ("nm-01", "nm-02", "nm-03", "nm-04")
PROBES = {"NM": ("nm-05", "nm-06"), "BG": ("bg-01", "bg-02"), "CL": ("cl-01", "cl-02")}


def gait_energy_image(aligned: np.ndarray) -> np.ndarray:
    """Mean silhouette over frames: uint8 ``[T, size, size]`` -> float32 ``[size, size - 2 cut]``
    (the central columns models see, ``cut = size // 64 * 10``), values 0..1."""
    size = aligned.shape[-1]
    cut = size // 64 * 10
    return aligned[:, :, cut : size - cut].mean(axis=0, dtype=np.float32) / 255.0


@dataclass(frozen=True)
class GeiSet:
    """The gait energy images of a set of sequences (`gei_features`), computed once for as many
    `gei_nn` scorings as needed (both galleries, for instance)."""

    subject: np.ndarray  # [N] str
    condition: np.ndarray  # [N] str
    view: np.ndarray  # [N] str
    x: np.ndarray  # [N, s * s] float64, one flattened GEI per row


def gei_features(sequences: Iterable[tuple[str, str, str, np.ndarray]]) -> GeiSet:
    """``sequences`` yields (subject, condition, view, aligned uint8 [T, s, s]); empty sequences
    are left out."""
    subj, cond, view, feats = [], [], [], []
    for s, c, v, frames in sequences:
        if len(frames) == 0:
            continue
        subj.append(s)
        cond.append(c)
        view.append(v)
        feats.append(gait_energy_image(frames).ravel())
    x = np.stack(feats).astype(np.float64)
    return GeiSet(np.array(subj), np.array(cond), np.array(view), x)


def gei_nn(
    sequences: GeiSet | Iterable[tuple[str, str, str, np.ndarray]], same_view: bool = False
) -> dict[str, dict]:
    """CASIA-B rank-1 (%) of a GEI nearest neighbour (``same_view``: gallery of the probe's own
    view only, instead of the protocol's other views; shows how separable people are per view).

    ``sequences``: a `GeiSet`, or what `gei_features` takes. Returns
    ``{"NM"|"BG"|"CL": {"mean": float, "views": {view: float}}}``: per probe view, the rank-1
    averaged over gallery views other than the probe view; ``mean`` averages the probe views.
    """
    g_set = sequences if isinstance(sequences, GeiSet) else gei_features(sequences)
    subj_a, cond_a, view_a, x = g_set.subject, g_set.condition, g_set.view, g_set.x
    sq = (x * x).sum(1)
    gallery = np.isin(cond_a, GALLERY)
    views = sorted(set(view_a.tolist()))
    result: dict[str, dict] = {}
    for name, probe_conds in PROBES.items():
        probe = np.isin(cond_a, probe_conds)
        per_view = {}
        for pv in views:
            p = probe & (view_a == pv)
            if not p.any():
                continue
            accs = []
            for gv in views:
                g = gallery & (view_a == gv)
                if (gv == pv) != same_view or not g.any():
                    continue
                d = sq[p][:, None] + sq[g][None, :] - 2 * x[p] @ x[g].T
                hit = subj_a[g][d.argmin(1)] == subj_a[p]
                accs.append(hit.mean() * 100)
            if accs:
                per_view[pv] = float(np.mean(accs))
        if per_view:
            result[name] = {"mean": float(np.mean(list(per_view.values()))), "views": per_view}
    return result


def render_geis(
    spec: SynthSpec,
    subjects: Sequence[int] | None = None,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> GeiSet:
    """Render ``subjects`` (default: the test half, 075..124 for 124 subjects) in memory and
    return their GEIs (`gei_features`)."""
    if subjects is None:
        part = spec.partition()
        first = 75 if part is None else len(part["train"]) + 1
        subjects = range(first, spec.subjects + 1)
    seqs = [(s, c, v) for s in subjects for c in CONDITIONS for v in spec.views]
    jobs = [(spec, s, c, v) for s, c, v in seqs]
    workers = default_workers() if workers is None else workers
    tick = progress or (lambda n: None)

    def stream():
        for (s, c, v), frames in zip(seqs, _map(_render_aligned, jobs, workers)):
            tick(1)
            yield spec.subject_id(s), c, f"{v:03d}", frames

    return gei_features(stream())


def calibrate(
    spec: SynthSpec,
    subjects: Sequence[int] | None = None,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    same_view: bool = False,
) -> dict[str, dict]:
    """Render ``subjects`` (default: the test half) in memory and return their GEI-NN rank-1
    (`render_geis`, `gei_nn`)."""
    return gei_nn(render_geis(spec, subjects, workers=workers, progress=progress), same_view)


# ---------------------------------------------------------------------------------------------
# Contact sheet


def contact_sheet(
    path: str | os.PathLike,
    spec: SynthSpec,
    *,
    subjects: Sequence[int] = (1, 2, 3),
    conditions: Sequence[str] = ("nm-01", "bg-01", "cl-01"),
    views: Sequence[int] = (0, 36, 90, 144, 180),
    frames_per_view: int = 3,
    tile: tuple[int, int] = (96, 144),
) -> Path:
    """Write a PNG grid of raw frames: one row per (subject, condition), ``frames_per_view``
    frames a third of a stride apart for each view; each tile is cropped around the walker."""
    tw, th = tile
    rows = []
    for s in subjects:
        for c in conditions:
            cells = []
            for v in views:
                frames = render_sequence(spec, s, c, v)
                picks = np.linspace(len(frames) * 0.2, len(frames) * 0.6, frames_per_view).astype(
                    int
                )
                for k, i in enumerate(picks):
                    cell = np.zeros((th, tw), np.uint8)
                    f = frames[i]
                    rows_on = np.flatnonzero(f.max(1))
                    if rows_on.size:
                        # Crop the walker with a margin and scale it to fit the tile.
                        cols_on = np.flatnonzero(f.max(0))
                        m = 4
                        crop = np.pad(f, m)[
                            rows_on[0] : rows_on[-1] + 2 * m + 1,
                            cols_on[0] : cols_on[-1] + 2 * m + 1,
                        ]
                        scale = min(th / crop.shape[0], tw / crop.shape[1], 1.2)
                        small = cv2.resize(
                            crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA
                        )
                        y, x = (th - small.shape[0]) // 2, (tw - small.shape[1]) // 2
                        cell[y : y + small.shape[0], x : x + small.shape[1]] = small
                    cell = cv2.cvtColor(cell, cv2.COLOR_GRAY2BGR)
                    if k == 0:
                        cv2.putText(
                            cell,
                            f"{v:03d}",
                            (3, 12),
                            cv2.FONT_HERSHEY_SIMPLEX,
                            0.38,
                            (0, 200, 255),
                            1,
                            cv2.LINE_AA,
                        )
                    cells.append(cell)
                cells.append(np.full((th, 3, 3), 90, np.uint8))  # view separator
            row = np.concatenate(cells, 1)
            label = np.zeros((th, 70, 3), np.uint8)
            cv2.putText(
                label,
                spec.subject_id(s),
                (6, th // 2 - 6),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.5,
                (255, 255, 255),
                1,
                cv2.LINE_AA,
            )
            cv2.putText(
                label,
                c,
                (6, th // 2 + 14),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.5,
                (120, 220, 120),
                1,
                cv2.LINE_AA,
            )
            rows.append(np.concatenate([label, row], 1))
            rows.append(np.full((2, rows[-1].shape[1], 3), 60, np.uint8))
    sheet = np.concatenate(rows[:-1], 0)
    path = Path(path)
    ok, png = cv2.imencode(".png", sheet)
    if not ok:
        raise GaitbenchError(f"cannot encode preview {path}: the contact sheet is empty")
    try:
        with atomic_write(path) as tmp:
            tmp.write_bytes(png.tobytes())
    except OSError as exc:
        raise GaitbenchError(f"cannot write preview {path}: check the folder is writable") from exc
    return path


def expected_frames(spec: SynthSpec) -> int:
    """Mean raw frame count of the spec (for progress estimates)."""
    return int(math.ceil(len(spec.sequences()) * sum(spec.frames) / 2))
