"""The synthetic walker: an articulated 3-D body, its gait, and its silhouettes through a camera.

A body is a set of volumetric parts in world coordinates (metres; x = walking direction, y = the
walker's left, z = up):

* **capsules** (tapered: the convex hull of two spheres) for neck, arms, hands, legs and feet;
* **ellipsoids** for pelvis, abdomen, chest, head, coat, bags and the shadow on the floor.

Each part is projected by a pinhole camera and filled as a convex polygon. Both projections are
exact outlines of the 3-D part up to one approximation: a sphere is drawn as a circle of radius
``f * r / depth`` (its true perspective image is an ellipse that differs by well under a pixel at
these distances). Ellipsoids use the dual-quadric projection ``C* = P Q* P^T``, so a flat shadow
seen from the front and from the side has the right shape. All geometry (kinematics, projection,
outlines) is computed for every frame and part at once in numpy; only the final polygon fill is a
per-part ``cv2.fillConvexPoly`` call (about 3 microseconds each), which is what makes 320x240
rendering cost a fraction of a millisecond per frame.

Gait follows the shape of normative sagittal joint-angle curves (hip flexion/extension of about
40 degrees, a small loading-response knee bend and a ~60 degree swing-phase knee peak, ankle
plantarflexion at toe-off, counter-phase arm swing); every number is a per-subject parameter. The
pelvis height is set each frame so that the lowest point of either foot touches the floor, which
gives the double-bump vertical bounce of real walking without modelling it separately.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import cv2
import numpy as np

WIDTH, HEIGHT = 320, 240  # the raw CASIA-B frame size
FPS = 25.0
OUTLINE_POINTS = 12  # polygon vertices per ellipse outline and per capsule end arc
_SHIFT = 4  # cv2 fixed-point bits: outlines are filled with 1/16-pixel vertex precision

# Difficulty: how far apart people are (`people`), how much one person varies between sequences
# (`within`), how strongly bags and coats change the outline (`cover`), how much segmentation
# noise there is (`noise`) and how large each person's own clothing and hair irregularities are
# (`garment`: bulges that no body parameter describes, see `sample_garment`; 0 = the smooth
# parametric body of generator version 1) and how much a coat is a garment of its own
# (`coat_shape`: >0 = the coat hides the clothing bulges of the parts it covers and carries its
# own, hood, collar, pockets, belt, of that size; 0 = the coat of version 1, a smooth shell over
# the person, bulges and all), and how far the segmentation's outline differs between sequences
# (`outline`: the largest dilation or erosion of a sequence's silhouettes, in pixels of the
# 320 x 240 frame, one radius drawn per sequence, see `outline_jitter`; 0 = every sequence of a
# person has the body's exact outline, as in version 1), and how much fuller than the body the
# segmentation is in every frame (`thicken`: the radius, in pixels of the 320 x 240 frame, by
# which every silhouette is dilated, see `thicken`; real CASIA-B silhouettes are fuller than the
# bare body, loose clothes and the subtraction's halo; 0 = the body's outline, as in version 1),
# and how far apart people's gait motion is beside their body shape (`motion`: a factor on top
# of `people` for the cadence, stride, joint swings, timing and asymmetries; 1 in every level,
# as in version 1), and how far each view's camera stands from its ideal place (`rig`: every view
# is its own fixed camera, off its nominal azimuth, height, distance and aim by amounts drawn once
# per view and shared by every sequence of that view, see `place_camera`; 0 = every camera exactly
# on the ideal circle, as in version 1), and how close to the body's midline the limbs are carried
# (`narrow`: 0 = the legs hang straight from the hip joints, slightly apart, and the arms 2 to 18
# degrees out from the trunk, as in version 1; 1 = the knees and feet come in towards the midline
# and the arms hang against the trunk, so that from the front, as in real CASIA-B, the legs and
# the arms mostly merge with the body in the silhouette), and how unsteady the gait is within a
# sequence (`pace`: the cadence, the joint amplitudes, the arm swing and the trunk lean drift
# from step to step, see `vary_pace`; 0 = every cycle of a sequence the same, as in version 1),
# and how much of the body a coat hides (`coat`: a factor on the coat's girth beyond the body's,
# on its sleeves' extra thickness and on how far below the hip its skirt reaches; 1 = the coat of
# version 1 at the level's `cover`, 0.5 = half as bulky with the hem halfway up to the hip, so
# that more of the legs shows below it, as in most of real CASIA-B's cl sequences), and how large
# a person's own bulges on the legs are (`leg_bulges`: a factor on the size of the `garment`
# bulges on the thighs and shanks; 1 = as on every other part; 0 = plain trousers: real
# CASIA-B's legs carry far less identity than the walkers' (see results/synth-vs-real/)), and how
# large the shadow on the floor is (`shadow`: 0 = its size follows `noise`, as in version 1,
# so a noise-free store has none; > 0 = the largest shadow's size on its own, whatever `noise`
# is; 7 sequences in 10 get one, of a size drawn uniformly up to that; real CASIA-B's feet are
# often merged with their shadow), and how far people's legs differ in shape (`leg_shape`: a
# factor on how far a person's leg thickness and foot angle lie from the population's mean; 1 =
# as drawn, the legs as thick as the arms, relative to the mean; 0 = every person's legs of the
# mean thickness and foot angle, as trousers of one cut would make them), and how bulky a coat is
# for its length (`coat_bulk`: a factor on top of `coat` for the coat's girth beyond the body's and
# its sleeves' extra thickness alone, the hem left where `coat` puts it; 1 = as `coat` has it; 2 at
# coat=0.4 = the girth and sleeves of coat=0.8 over the legs of coat=0.4), and how much of the
# outline's fine detail the segmentation keeps (`smooth`: the standard deviation, in pixels of
# the 320 x 240 frame, of a Gaussian blur of every silhouette before it is thresholded again at
# half, see `smooth`: corners rounded, thin protrusions and narrow gaps gone, as a background
# subtraction's filtering leaves a real outline; 0 = the body's exact outline, as in version 1).
# See gaitbench.data.synth for the measured effect of each level.
_OFF = dict(
    garment=0.0,
    coat_shape=0.0,
    outline=0.0,
    thicken=0.0,
    motion=1.0,
    rig=0.0,
    narrow=0.0,
    pace=0.0,
    coat=1.0,
    leg_bulges=1.0,
    shadow=0.0,
    leg_shape=1.0,
    coat_bulk=1.0,
    smooth=0.0,
)
DIFFICULTY = {
    "easy": dict(people=1.25, within=0.5, cover=0.7, noise=0.5, **_OFF),
    "standard": dict(people=1.0, within=1.0, cover=1.0, noise=1.0, **_OFF),
    "hard": dict(people=0.8, within=1.5, cover=1.25, noise=1.6, **_OFF),
}
KNOBS = tuple(DIFFICULTY["standard"])


def knobs(difficulty: str | Mapping[str, float]) -> Mapping[str, float]:
    """The knobs of a named level (``DIFFICULTY``), or a mapping of them as given."""
    return DIFFICULTY[difficulty] if isinstance(difficulty, str) else difficulty


BAGS = ("backpack", "shoulder", "hand")


# Where a bulge of clothing or hair can sit: trunk ellipsoids, the head, and limb segments.
ANCHORS = (
    "pelvis",
    "belly",
    "chest",
    "head",
    "thigh_l",
    "thigh_r",
    "shank_l",
    "shank_r",
    "arm_l",
    "arm_r",
)


@dataclass(frozen=True)
class Bulge:
    """One irregularity of a person's clothing or hair: an ellipsoid fixed to a body part.

    ``along`` is the position along a limb segment (0 = its top), ``direction`` a unit vector in
    the part's frame (x forward, y left, z up) on which the bulge sits at ``reach`` times the
    part's radius, ``radii`` its semi-axes relative to the person's height (metres per 1.7 m).
    """

    anchor: str
    along: float
    direction: tuple[float, float, float]
    reach: float
    radii: tuple[float, float, float]


# The parts a coat covers: its own bulges sit on them, and it hides the person's there.
COAT_ANCHORS = ("pelvis", "belly", "chest", "thigh_l", "thigh_r", "arm_l", "arm_r")
# The leg segments, whose bulges `leg_bulges` scales.
LEG_ANCHORS = ("thigh_l", "thigh_r", "shank_l", "shank_r")


def sample_garment(
    rng: np.random.Generator,
    size: float,
    anchors: tuple[str, ...] = ANCHORS,
    reach: tuple[float, float] = (0.9, 1.2),
) -> tuple[Bulge, ...]:
    """Draw a person's own clothing and hair bulges (hood, hair bun, pockets, loose trousers and
    sleeves): 3 to 7 ellipsoids on random body parts, centred at 0.9 to 1.2 times the part's
    radius from its axis (on its surface, give or take), semi-axes 2 to 6 cm times ``size`` (the
    ``garment`` knob): at 1 they stand out by up to about 7 cm, a few pixels of a 64-pixel frame. Worn in every sequence of the person, so they are identity, but each is
    a shape no parameter of the body describes: one person's bulges say nothing about another's.
    ``size`` 0 draws nothing. A coat's own bulges (`COAT_ANCHORS`, ``coat_shape``) are drawn the
    same way, further out (``reach``), since they sit on the coat rather than on the body."""
    if size <= 0:
        return ()
    out = []
    for _ in range(int(rng.integers(3, 8))):
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        out.append(
            Bulge(
                anchor=anchors[int(rng.integers(len(anchors)))],
                along=float(rng.uniform(0.15, 0.9)),
                direction=(float(d[0]), float(d[1]), float(d[2])),
                reach=float(rng.uniform(*reach)),
                radii=tuple(float(r) for r in rng.uniform(0.02, 0.06, 3) * size),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Subject:
    """A person: body shape (metres, ratios) and gait (per-subject style), fixed for all sequences."""

    height: float
    build: float  # width / depth factor of the trunk
    leg_ratio: float  # hip height / height
    arm_ratio: float  # arm length factor
    head: float  # head size factor
    shoulders: float  # shoulder width factor
    hips: float  # hip width factor
    limb: float  # limb thickness factor
    belly: float  # abdomen depth factor
    lean: float  # trunk forward lean, radians
    head_fwd: float  # head forward offset, metres
    stride_freq: float  # strides per second
    stride_len: float  # metres per stride, relative to leg length
    hip_amp: float  # hip flexion half-range, radians
    hip_mid: float  # hip flexion mean, radians
    knee_load: float  # loading-response knee flexion, radians
    knee_swing: float  # swing-phase knee peak, radians
    ankle_amp: float  # toe-off plantarflexion, radians
    arm_amp: float  # shoulder swing half-range, radians
    arm_abd: float  # arm abduction from the trunk, radians
    elbow: float  # mean elbow flexion, radians
    elbow_amp: float  # elbow flexion swing, radians
    arm_lag: float  # arm phase lag, gait cycles
    yaw_amp: float  # pelvis rotation about the vertical, radians
    sway: float  # lateral sway, metres
    asym_amp: float  # right/left amplitude ratio - 1
    asym_phase: float  # right leg phase offset beyond half a cycle, cycles
    toe_out: float  # foot progression angle, radians
    bag: str  # carried object in the bg sequences
    bag_side: int  # +1 left, -1 right
    bag_size: float
    coat_len: float  # coat hem height above the floor, relative to leg length
    coat_width: float  # coat girth factor
    garment: tuple[Bulge, ...] = ()  # the person's own clothing and hair bulges (sample_garment)
    coat_garment: tuple[Bulge, ...] = ()  # their coat's own bulges, worn in CL (coat_shape)


@dataclass(frozen=True)
class Walk:
    """One sequence: the person's small day-to-day variation and the camera."""

    frames: int
    speed: float  # factor on the subject's stride frequency and length
    phase: float  # gait phase at frame 0, cycles
    amp: float  # factor on the joint amplitudes
    arm: float  # factor on the arm swing
    lean: float  # added trunk lean, radians
    start: float  # walker x at the middle frame, metres
    lateral: float  # walker y, metres
    heading: float  # small deviation of the walking direction, radians
    cam_dist: float  # camera distance from the walk line's centre, metres
    cam_height: float  # metres
    focal: float  # pixels
    shadow: float  # shadow blob size (0 = none)
    noise: float  # segmentation noise level
    aim: float = 0.85  # height the camera points at, metres (moved by `rig` only)
    # [4, frames] per-frame factors on the cadence, the joint amplitudes and the arm swing, and
    # radians added to the trunk lean (set by `pace` only; None = a steady gait)
    wobble: np.ndarray | None = None


def _n(rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float) -> float:
    return float(np.clip(rng.normal(mean, sd), lo, hi))


def sample_subject(
    rng: np.random.Generator, difficulty: str | Mapping[str, float] = "standard"
) -> Subject:
    """Draw a person. ``difficulty`` scales how far apart people are (``people``), and how far
    apart their gait's motion is on top of that (``motion``: the cadence, stride, joint swings,
    timing and asymmetries, what only a model that sees frames in order can use; body shape and
    posture keep ``people`` alone)."""
    level = knobs(difficulty)
    k = level["people"]
    m = k * level["motion"]
    d = np.radians
    return Subject(
        height=_n(rng, 1.70, 0.085 * k, 1.45, 1.98),
        build=_n(rng, 1.0, 0.13 * k, 0.7, 1.45),
        leg_ratio=_n(rng, 0.53, 0.018 * k, 0.48, 0.58),
        arm_ratio=_n(rng, 1.0, 0.05 * k, 0.88, 1.12),
        head=_n(rng, 1.0, 0.07 * k, 0.85, 1.18),
        shoulders=_n(rng, 1.0, 0.08 * k, 0.8, 1.22),
        hips=_n(rng, 1.0, 0.09 * k, 0.78, 1.25),
        limb=_n(rng, 1.0, 0.12 * k, 0.75, 1.35),
        belly=_n(rng, 1.0, 0.16 * k, 0.75, 1.6),
        lean=d(_n(rng, 4.0, 3.5 * k, -4.0, 14.0)),
        head_fwd=_n(rng, 0.02, 0.02 * k, -0.03, 0.08),
        stride_freq=_n(rng, 0.92, 0.07 * m, 0.72, 1.12),
        stride_len=_n(rng, 1.55, 0.12 * m, 1.2, 1.95),
        hip_amp=d(_n(rng, 21.0, 3.0 * m, 14.0, 29.0)),
        hip_mid=d(_n(rng, 10.0, 3.0 * m, 2.0, 18.0)),
        knee_load=d(_n(rng, 15.0, 5.0 * m, 3.0, 28.0)),
        knee_swing=d(_n(rng, 60.0, 6.0 * m, 45.0, 75.0)),
        ankle_amp=d(_n(rng, 18.0, 5.0 * m, 6.0, 30.0)),
        arm_amp=d(_n(rng, 20.0, 7.0 * m, 5.0, 38.0)),
        arm_abd=d(_n(rng, 9.0, 3.5 * k, 2.0, 18.0)),
        elbow=d(_n(rng, 22.0, 8.0 * k, 5.0, 50.0)),
        elbow_amp=d(_n(rng, 12.0, 5.0 * m, 0.0, 25.0)),
        arm_lag=_n(rng, 0.03, 0.03 * m, -0.05, 0.1),
        yaw_amp=d(_n(rng, 5.0, 2.5 * m, 0.0, 12.0)),
        sway=_n(rng, 0.025, 0.01 * m, 0.0, 0.05),
        asym_amp=_n(rng, 0.0, 0.06 * m, -0.15, 0.15),
        asym_phase=_n(rng, 0.0, 0.015 * m, -0.04, 0.04),
        toe_out=d(_n(rng, 7.0, 5.0 * k, -5.0, 20.0)),
        bag=BAGS[int(rng.integers(len(BAGS)))],
        bag_side=int(rng.choice([-1, 1])),
        bag_size=_n(rng, 1.0, 0.18, 0.65, 1.4),
        coat_len=_n(rng, 0.45, 0.12, 0.2, 0.7),
        coat_width=_n(rng, 1.2, 0.08, 1.05, 1.4),
    )


def sample_walk(
    rng: np.random.Generator,
    view: float,
    frames: tuple[int, int],
    difficulty: str | Mapping[str, float] = "standard",
) -> Walk:
    """Draw one sequence's variation and camera for a view azimuth in degrees."""
    w = knobs(difficulty)["within"]
    noise = knobs(difficulty)["noise"]
    shadow = knobs(difficulty)["shadow"]  # 0: the shadow's size follows `noise`
    dist = _n(rng, 7.0, 0.4 * w, 5.5, 8.5)
    return Walk(
        frames=int(rng.integers(frames[0], frames[1] + 1)),
        speed=_n(rng, 1.0, 0.045 * w, 0.8, 1.2),
        phase=float(rng.random()),
        amp=_n(rng, 1.0, 0.06 * w, 0.8, 1.2),
        arm=_n(rng, 1.0, 0.15 * w, 0.5, 1.5),
        lean=np.radians(_n(rng, 0.0, 1.5 * w, -5.0, 5.0)),
        start=_n(rng, 0.0, 0.3, -1.0, 1.0),
        lateral=_n(rng, 0.0, 0.2, -0.6, 0.6),
        heading=np.radians(_n(rng, 0.0, 2.0 * w, -8.0, 8.0)),
        cam_dist=dist,
        cam_height=_n(rng, 1.1, 0.08 * w, 0.85, 1.4),
        # A 1.7 m person at the walk centre is about 120 px tall, as in CASIA-B; the focal length
        # varies a little, like a zoom setting that differs between recording days.
        focal=float(120.0 / 1.7 * dist * rng.normal(1.0, 0.04 * w)),
        shadow=float(rng.uniform(0.0, 1.0) * (shadow or noise)) if rng.random() < 0.7 else 0.0,
        noise=float(noise * rng.uniform(0.5, 1.5)),
    )


def place_camera(rng: np.random.Generator, walk: Walk, rig: float) -> tuple[float, Walk]:
    """One view's fixed camera (``rig`` > 0): ``rng`` is the view's own stream, so every sequence
    of the view gets the same offsets, as the 11 hand-placed cameras of a recording rig do.
    Returns (azimuth offset in degrees, the walk with the camera's height, distance, zoom and aim
    moved): azimuth sd 4 degrees, height sd 0.3 m, distance a factor of sd 15 % with the focal
    length following it (the person keeps their size in the frame, the perspective changes), aim
    height sd 0.15 m; each times ``rig``."""
    azimuth = float(np.clip(rng.normal(0.0, 4.0 * rig), -10.0 * rig, 10.0 * rig))
    height = float(np.clip(rng.normal(0.0, 0.3 * rig), -0.6, 0.9))
    dist = float(np.exp(np.clip(rng.normal(0.0, 0.15 * rig), -0.4, 0.4)))
    aim = float(np.clip(rng.normal(0.0, 0.15 * rig), -0.4, 0.4))
    return azimuth, replace(
        walk,
        cam_height=walk.cam_height + height,
        cam_dist=walk.cam_dist * dist,
        focal=walk.focal * dist,
        aim=walk.aim + aim,
    )


PACE_SD = dict(rate=0.04, amp=0.06, arm=0.12, lean=np.radians(1.0))  # at pace = 1
PACE_FRAMES = 8.0  # the drifts' correlation (Gaussian sd, frames): about a step


def _drift(rng: np.random.Generator, frames: int) -> np.ndarray:
    """Smooth noise of unit standard deviation: white noise through a Gaussian of PACE_FRAMES."""
    half = int(4 * PACE_FRAMES)
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / PACE_FRAMES) ** 2)
    k /= np.sqrt((k**2).sum())
    return np.convolve(rng.normal(size=frames + 2 * half), k, mode="valid")


def vary_pace(rng: np.random.Generator, walk: Walk, pace: float) -> Walk:
    """A gait that is not the same from one step to the next (``pace`` > 0): the cadence, the
    joint amplitudes, the arm swing and the trunk lean drift within the sequence, each a smooth
    random path (correlated over about a step) with standard deviations PACE_SD times ``pace``
    (at 1: 4 % cadence, 6 % amplitude, 12 % arm swing, 1 degree of lean). ``rng`` is the
    sequence's own stream, so the rest of the sequence is drawn as with a steady gait."""
    rate, amp, arm, lean = (_drift(rng, walk.frames) for _ in range(4))
    wobble = np.stack(
        [
            np.clip(1.0 + pace * PACE_SD["rate"] * rate, 0.5, 1.5),
            np.clip(1.0 + pace * PACE_SD["amp"] * amp, 0.5, 1.5),
            np.clip(1.0 + pace * PACE_SD["arm"] * arm, 0.0, 2.0),
            pace * PACE_SD["lean"] * lean,
        ]
    )
    return replace(walk, wobble=wobble)


# ---------------------------------------------------------------------------------------------
# Geometry helpers (all batched over the leading frame axis)


def _rot_y(a: np.ndarray) -> np.ndarray:
    """Rotation about y (pitch, positive tilts +z towards +x), ``[...]`` -> ``[..., 3, 3]``."""
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack(
        [np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2
    )


def _rot_z(a: np.ndarray) -> np.ndarray:
    """Rotation about z (yaw, positive turns +x towards +y), ``[...]`` -> ``[..., 3, 3]``."""
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack(
        [np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2
    )


def _rot_x(a: np.ndarray) -> np.ndarray:
    """Rotation about x (roll, positive turns +y towards +z), ``[...]`` -> ``[..., 3, 3]``."""
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack(
        [np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2
    )


def _apply(rot: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``rot [T, 3, 3]`` times vectors ``[T, 3]`` or ``[3]``."""
    return np.einsum("tij,tj->ti", rot, np.broadcast_to(v, rot.shape[:-1]))


def _bump(phase: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A periodic bump of height 1 at ``centre`` (cycles): von Mises shape, so curves stay smooth."""
    kappa = 1.0 / (2 * np.pi * width) ** 2
    return np.exp(kappa * (np.cos(2 * np.pi * (phase - centre)) - 1.0))


class Parts:
    """Collects capsules and ellipsoids of one sequence, each with a per-frame pose."""

    def __init__(self, frames: int) -> None:
        self.t = frames
        self.caps: list[tuple[np.ndarray, np.ndarray, float, float]] = []
        self.ells: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def capsule(self, a: np.ndarray, b: np.ndarray, ra: float, rb: float) -> None:
        """A tapered capsule from ``a`` to ``b`` ([T, 3]) with end radii ``ra``, ``rb``."""
        self.caps.append((a, b, ra, rb))

    def ellipsoid(self, centre: np.ndarray, rot: np.ndarray, radii) -> None:
        """An ellipsoid: ``centre [T, 3]``, axes ``rot [T, 3, 3]`` (columns), ``radii [3]``."""
        self.ells.append((centre, rot, np.asarray(radii, dtype=np.float64)))


def build_body(
    s: Subject, w: Walk, condition: str, difficulty: str | Mapping[str, float] = "standard"
) -> Parts:
    """Pose the body for every frame of the walk and return its volumetric parts (world metres)."""
    cover = knobs(difficulty)["cover"]
    narrow = knobs(difficulty)["narrow"]
    fit = knobs(difficulty)["coat"]
    bulk = fit * knobs(difficulty)["coat_bulk"]  # the girth's and sleeves' factor; `fit` the hem's
    legs = knobs(difficulty)["leg_bulges"]
    leg_shape = knobs(difficulty)["leg_shape"]
    T = w.frames
    t = np.arange(T) / FPS
    freq = s.stride_freq * w.speed**0.5
    stride = s.stride_len * s.leg_ratio * s.height * w.speed**0.5
    if w.wobble is None:
        phase = w.phase + freq * t  # left-leg gait phase, cycles; 0 = left heel strike
        amp, arm, sway_lean = w.amp, w.arm, 0.0
    else:  # `pace`: the phase advances at a drifting rate; amplitudes and lean drift with it
        steps = np.concatenate([[0.0], np.cumsum(w.wobble[0, :-1])])
        phase = w.phase + freq * steps / FPS
        amp, arm, sway_lean = w.amp * w.wobble[1], w.arm * w.wobble[2], w.wobble[3]

    H = s.height
    leg = s.leg_ratio * H
    thigh, shank, ankle_h = 0.47 * leg, 0.455 * leg, 0.075 * leg
    foot_len = 0.152 * H
    torso = 0.29 * H * (1 + 0.5 * (0.53 - s.leg_ratio))
    upper_arm, forearm, hand = 0.186 * H * s.arm_ratio, 0.146 * H * s.arm_ratio, 0.09 * H
    hip_half = 0.085 * H * s.hips
    shoulder_half = 0.118 * H * s.shoulders
    lm = 1.15 * s.limb * (0.8 + 0.2 * s.build)  # 15 % for clothing over the limbs
    ll, toe_out = lm, s.toe_out  # the legs' thickness factor and foot angle
    if leg_shape != 1.0:  # `leg_shape`: both drawn nearer the population's mean (1, 7 degrees)
        ll = 1.15 * (1.0 + leg_shape * (s.limb - 1.0)) * (0.8 + 0.2 * s.build)
        toe_out = np.radians(7.0) + leg_shape * (s.toe_out - np.radians(7.0))

    carried = condition.startswith("bg")
    coat = condition.startswith("cl")
    arm_gain = np.ones(2)  # left, right
    if carried:
        if s.bag == "backpack":
            arm_gain[:] = 0.75
        else:
            arm_gain[0 if s.bag_side > 0 else 1] = 0.25 if s.bag == "shoulder" else 0.35
    if coat:
        arm_gain *= 0.85

    # Joint angles per leg (index 0 = left, 1 = right), [2, T].
    leg_phase = np.stack([phase, phase + 0.5 + s.asym_phase]) % 1.0
    side_amp = np.array([1.0 - s.asym_amp / 2, 1.0 + s.asym_amp / 2])[:, None] * amp
    # Hip: flexed at heel strike, extended near 50 %, peak flexion again around 85-90 %.
    hip = s.hip_mid + side_amp * s.hip_amp * (
        np.cos(2 * np.pi * (leg_phase - 0.02)) + 0.12 * np.cos(4 * np.pi * (leg_phase - 0.1))
    )
    knee = side_amp * (
        0.08
        + s.knee_load * _bump(leg_phase, 0.14, 0.06)
        + s.knee_swing * _bump(leg_phase, 0.72, 0.09)
    )
    ankle = side_amp * (
        np.radians(6) * _bump(leg_phase, 0.4, 0.1) - s.ankle_amp * _bump(leg_phase, 0.62, 0.06)
    )
    # Arms swing against the same-side leg: forward when the opposite leg is forward.
    arm_phase = leg_phase + 0.5 + s.arm_lag
    shoulder = np.radians(3) + arm_gain[:, None] * arm * side_amp * s.arm_amp * np.cos(
        2 * np.pi * (arm_phase - 0.02)
    )
    elbow = s.elbow + arm_gain[:, None] * arm * s.elbow_amp * (
        0.5 + 0.5 * np.cos(2 * np.pi * (arm_phase - 0.05))
    )
    if carried and s.bag == "hand":
        i = 0 if s.bag_side > 0 else 1
        elbow[i] = np.radians(8) + 0.0 * elbow[i]
    if carried and s.bag == "shoulder":
        i = 0 if s.bag_side > 0 else 1  # this hand holds the strap at the chest
        shoulder[i] = np.radians(8) + 0.2 * (shoulder[i] - shoulder[i].mean())
        elbow[i] = np.radians(105) + 0.0 * elbow[i]

    yaw = s.yaw_amp * amp * np.sin(2 * np.pi * (phase + 0.25))  # pelvis turns with the leading leg
    roll = np.radians(3) * amp * np.cos(4 * np.pi * phase)
    lean = sway_lean + np.full(
        T, s.lean + w.lean + (np.radians(4) if carried and s.bag == "backpack" else 0.0)
    )
    side = np.array([1.0, -1.0])  # +y for left

    # Body frame (pelvis at origin) -> world rotation, per frame.
    pelvis_rot = _rot_z(yaw) @ _rot_x(roll)
    trunk_rot = _rot_z(-0.6 * yaw) @ _rot_y(lean)  # shoulders counter-rotate the pelvis
    heading = _rot_z(np.full(T, w.heading))
    pelvis_rot = heading @ pelvis_rot
    trunk_rot = heading @ trunk_rot

    # Legs in the body frame, relative to the pelvis centre.
    hips, knees, ankles, heels, toes = [], [], [], [], []
    for i in range(2):
        hip_j = _apply(pelvis_rot, np.array([0.0, side[i] * hip_half, 0.0]))
        thigh_dir = np.stack([np.sin(hip[i]), np.zeros(T), -np.cos(hip[i])], -1)
        # Version 1: the feet under the hips, the thigh 0.03 outwards; `narrow` brings the knees
        # (and the feet below them) in towards the midline, as real people walk.
        thigh_dir[:, 1] = side[i] * (0.03 - 0.3 * narrow)
        knee_j = hip_j + thigh * _apply(heading, thigh_dir)
        a = hip[i] - knee[i]
        knee_j_to_ankle = np.stack([np.sin(a), np.zeros(T), -np.cos(a)], -1)
        ankle_j = knee_j + shank * _apply(heading, knee_j_to_ankle)
        f = a + np.pi / 2 + ankle[i]  # foot points forward, rotated by the ankle angle
        out = side[i] * toe_out
        fdir = np.stack([np.sin(f) * np.cos(out), np.sin(f) * np.sin(out), -np.cos(f)], -1)
        fdir = _apply(heading, fdir)
        heel = ankle_j - 0.25 * foot_len * fdir + np.array([0, 0, -0.6 * ankle_h])
        toe = ankle_j + 0.75 * foot_len * fdir + np.array([0, 0, -0.6 * ankle_h])
        hips.append(hip_j)
        knees.append(knee_j)
        ankles.append(ankle_j)
        heels.append(heel)
        toes.append(toe)

    foot_r = 0.03 * ll * H / 1.7
    lowest = np.min(np.stack([h[:, 2] for h in heels] + [x[:, 2] for x in toes]), axis=0) - foot_r
    # World placement: constant walking speed, pelvis height from the floor contact, side sway.
    if w.wobble is None:
        speed = freq * stride
        x = w.start + speed * (t - t[-1] / 2)
    else:  # the body moves on by a stride each cycle, however fast the cycle goes
        x = w.start + stride * (phase - np.interp(t[-1] / 2, t, phase))
    y = w.lateral + s.sway * amp * np.sin(2 * np.pi * phase)
    root = np.stack([x * np.cos(w.heading), y + x * np.sin(w.heading), -lowest], -1)

    parts = Parts(T)
    # Where the garment's bulges sit: trunk and head (centre, axes, semi-axes) and limb segments
    # (top, bottom, radius); see `_add_garment`.
    solids: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    limbs: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    for i in range(2):
        hip_w, knee_w, ankle_w = root + hips[i], root + knees[i], root + ankles[i]
        parts.capsule(hip_w, knee_w, 0.085 * ll * H / 1.7, 0.052 * ll * H / 1.7)
        parts.capsule(knee_w, ankle_w, 0.052 * ll * H / 1.7, 0.036 * ll * H / 1.7)
        limbs["thigh_" + "lr"[i]] = (hip_w, knee_w, 0.07 * ll * H / 1.7)
        limbs["shank_" + "lr"[i]] = (knee_w, ankle_w, 0.045 * ll * H / 1.7)
        parts.capsule(root + heels[i], root + toes[i], foot_r * 1.1, foot_r * 0.9)

    # Trunk: pelvis, abdomen, chest, neck, head, in the trunk frame.
    pelvis_c = root + _apply(pelvis_rot, np.array([0.0, 0.0, 0.03 * H]))
    pelvis = np.array([0.07 * s.belly, 0.095 * s.hips, 0.075]) * H * s.build**0.5
    parts.ellipsoid(pelvis_c, pelvis_rot, pelvis)
    solids["pelvis"] = (pelvis_c, pelvis_rot, pelvis)
    up = lambda h: root + _apply(trunk_rot, np.array([0.0, 0.0, h]))  # noqa: E731
    belly = np.array([0.068 * s.belly, 0.085, 0.09]) * H * np.array([s.build, s.build, 1.0])
    belly_c = up(0.40 * torso) + _apply(trunk_rot, np.array([0.01 * s.belly * H, 0, 0]))
    parts.ellipsoid(belly_c, trunk_rot, belly)
    chest = np.array([0.07, 0.108 * s.shoulders, 0.13]) * H * np.array([s.build, s.build**0.7, 1.0])
    parts.ellipsoid(up(0.74 * torso), trunk_rot, chest)
    solids["belly"] = (belly_c, trunk_rot, belly)
    solids["chest"] = (up(0.74 * torso), trunk_rot, chest)
    neck_base, neck_top = up(torso), up(torso + 0.05 * H)
    head_fwd = _apply(trunk_rot, np.array([s.head_fwd, 0.0, 0.0]))
    parts.capsule(neck_base, neck_top + head_fwd, 0.034 * H * lm**0.5, 0.03 * H * lm**0.5)
    head_c = neck_top + head_fwd + _apply(trunk_rot, np.array([0.005 * H, 0.0, 0.065 * H * s.head]))
    head = np.array([0.06, 0.05, 0.068]) * H * s.head
    parts.ellipsoid(head_c, trunk_rot, head)
    solids["head"] = (head_c, trunk_rot, head)

    # Arms.
    hands = []
    for i in range(2):
        sh = up(torso - 0.03 * H) + _apply(trunk_rot, np.array([0.0, side[i] * shoulder_half, 0.0]))
        abd = (s.arm_abd * (1.0 - narrow) - np.radians(4.0) * narrow) * side[i]
        ua = np.stack(
            [np.sin(shoulder[i]), np.full(T, np.sin(abd)), -np.cos(shoulder[i]) * np.cos(abd)], -1
        )
        el = sh + upper_arm * _apply(trunk_rot, ua)
        fa_a = shoulder[i] + elbow[i]
        fa = np.stack([np.sin(fa_a), np.full(T, np.sin(abd) * 0.5), -np.cos(fa_a)], -1)
        wr = el + forearm * _apply(trunk_rot, fa)
        hd = wr + 0.75 * hand * _apply(trunk_rot, fa)
        arm_r = 1.0 + (bulk * (0.35 * (s.coat_width - 1) + 0.15) if coat else 0.0)
        parts.capsule(sh, el, 0.045 * lm * H / 1.7 * arm_r, 0.037 * lm * H / 1.7 * arm_r)
        parts.capsule(el, wr, 0.036 * lm * H / 1.7 * arm_r, 0.027 * lm * H / 1.7 * arm_r)
        parts.capsule(wr, hd, 0.03 * H / 1.7, 0.026 * H / 1.7)
        hands.append(hd)
        limbs["arm_" + "lr"[i]] = (sh, el, 0.041 * lm * H / 1.7 * arm_r)
    worn = s.garment
    if legs != 1.0:  # `leg_bulges`: the person's own bulges on the legs scaled, or gone at 0
        worn = tuple(
            b if b.anchor not in LEG_ANCHORS else replace(b, radii=tuple(legs * r for r in b.radii))
            for b in worn
            if legs > 0 or b.anchor not in LEG_ANCHORS
        )
    if coat and s.coat_garment:
        # The coat replaces the clothing of the parts it covers: their bulges give way to its own.
        worn = tuple(b for b in worn if b.anchor not in COAT_ANCHORS) + s.coat_garment
    _add_garment(parts, worn, solids, limbs, heading, H)

    if coat:
        # A coat: wider, longer trunk outline and a skirt that hides the thighs; its hem follows
        # the knees, so it still sways with the legs.
        g = s.coat_width * (1 + 0.15 * (cover - 1))
        if bulk != 1.0:  # `coat`, `coat_bulk`: the girth beyond the body's scaled
            g = 1.0 + bulk * (g - 1.0)
        parts.ellipsoid(
            up(0.62 * torso),
            trunk_rot,
            np.array([0.078, 0.115 * s.shoulders, 0.19])
            * H
            * g
            * np.array([s.build, s.build**0.7, 1]),
        )
        hem_h = leg * (s.coat_len - 0.12 * (cover - 1))
        if fit != 1.0:  # `coat`: the skirt's reach below the hip scaled
            hem_h = leg - fit * (leg - hem_h)
        knee_mid = (knees[0] + knees[1]) / 2 + root
        hem = np.stack([knee_mid[:, 0], knee_mid[:, 1], np.full(T, hem_h)], -1)
        spread = np.abs(knees[0][:, 0] - knees[1][:, 0]) / 2
        top = up(0.35 * torso)
        girth = H * g * s.build**0.5
        for frac in (0.0, 0.5, 1.0):
            sway = (frac - 0.5) * np.stack([spread, 0 * spread, 0 * spread], -1)
            hem_r = 0.075 * girth + 0.5 * spread.mean() * frac
            parts.capsule(top, hem + sway, 0.085 * girth, hem_r)

    if carried:
        size = s.bag_size * (1 + 0.3 * (cover - 1))
        if s.bag == "backpack":
            c = up(0.65 * torso) + _apply(
                trunk_rot, np.array([-(0.07 * s.build * H + 0.09 * size), 0, 0])
            )
            parts.ellipsoid(c, trunk_rot, np.array([0.1, 0.15, 0.2]) * size)
        elif s.bag == "shoulder":
            i = 0 if s.bag_side > 0 else 1
            swing = _rot_y(0.15 * np.sin(2 * np.pi * phase))
            c = (
                root
                + _apply(heading, np.array([0.0, side[i] * (hip_half + 0.08), 0.0]))
                + np.array([0, 0, 0.02 * H])
            )
            parts.ellipsoid(
                c, heading @ swing, np.array([0.07, 0.05, 0.14]) * size * np.array([1.6, 1, 1])
            )
            other = up(torso - 0.02 * H) + _apply(
                trunk_rot, np.array([0.0, -side[i] * shoulder_half * 0.8, 0.0])
            )
            parts.capsule(other, c, 0.02, 0.02)
        else:
            i = 0 if s.bag_side > 0 else 1
            c = hands[i] + np.array([0.0, 0.0, -0.12 * size])
            parts.ellipsoid(
                c,
                heading @ _rot_y(0.5 * (shoulder[i] - shoulder[i].mean())),
                np.array([0.14, 0.06, 0.12]) * size,
            )

    if w.shadow > 0:
        # A flat blob on the floor between the feet, stretched towards a light behind the camera.
        feet = (heels[0] + heels[1] + toes[0] + toes[1]) / 4 + root
        feet[:, 2] = 0.0
        r = np.array([0.35, 0.18, 0.002]) * w.shadow + np.array([0.12, 0.08, 0.0])
        parts.ellipsoid(feet + np.array([0.05, 0.0, 0.0]), heading, r)
    return parts


def _add_garment(
    parts: Parts,
    garment: tuple[Bulge, ...],
    solids: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    limbs: dict[str, tuple[np.ndarray, np.ndarray, float]],
    heading: np.ndarray,
    height: float,
) -> None:
    """Add each bulge as an ellipsoid that moves with its body part: on a trunk or head
    ellipsoid, at ``reach`` of the way from its centre to its surface along ``direction`` (the
    part's axes); on a limb, at ``along`` of the segment, ``reach`` times its radius out along
    ``direction`` (the walking frame)."""
    for b in garment:
        d = np.asarray(b.direction)
        radii = np.asarray(b.radii) * height / 1.7
        if b.anchor in solids:
            centre, rot, semi = solids[b.anchor]
            surface = d / np.sqrt(((d / semi) ** 2).sum())
            parts.ellipsoid(centre + _apply(rot, b.reach * surface), rot, radii)
        else:
            top, bottom, r = limbs[b.anchor]
            centre = top + b.along * (bottom - top) + _apply(heading, b.reach * r * d)
            parts.ellipsoid(centre, heading, radii)


@dataclass(frozen=True)
class Camera:
    """Pinhole camera: world -> pixel."""

    rot: np.ndarray  # [3, 3] rows: image right, image down, viewing direction
    pos: np.ndarray  # [3]
    focal: float
    cx: float = WIDTH / 2
    cy: float = HEIGHT / 2

    @staticmethod
    def at_view(view_deg: float, w: Walk) -> Camera:
        """The camera at azimuth ``view_deg``: 0 = in front of the walker, 90 = its right, 180 = behind."""
        a = np.radians(view_deg)
        pos = np.array([w.cam_dist * np.cos(a), -w.cam_dist * np.sin(a), w.cam_height])
        target = np.array([0.0, w.lateral, w.aim])
        fwd = target - pos
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        return Camera(np.stack([right, down, fwd]), pos, w.focal)

    def matrix(self) -> np.ndarray:
        """The 3x4 projection ``K [R | -R c]``."""
        k = np.array([[self.focal, 0, self.cx], [0, self.focal, self.cy], [0, 0, 1.0]])
        return k @ np.concatenate([self.rot, -(self.rot @ self.pos)[:, None]], 1)


def _capsule_outlines(parts: Parts, cam: Camera) -> np.ndarray:
    """Projected capsule outlines, ``[T, n_caps, 2 * OUTLINE_POINTS, 2]`` pixels."""
    a = np.stack([c[0] for c in parts.caps], 1)  # [T, n, 3]
    b = np.stack([c[1] for c in parts.caps], 1)
    ra = np.array([c[2] for c in parts.caps])
    rb = np.array([c[3] for c in parts.caps])

    def project(p):
        q = (p - cam.pos) @ cam.rot.T
        z = np.maximum(q[..., 2], 1e-3)
        return cam.focal * q[..., :2] / z[..., None] + [cam.cx, cam.cy], z

    pa, za = project(a)
    pb, zb = project(b)
    qa, qb = cam.focal * ra / za, cam.focal * rb / zb
    d = pb - pa
    length = np.maximum(np.linalg.norm(d, axis=-1), 1e-6)
    phi = np.arctan2(d[..., 1], d[..., 0])
    # The hull's tangent points sit at +-psi from the axis, cos(psi) = (qa - qb) / length.
    psi = np.arccos(np.clip((qa - qb) / length, -1.0, 1.0))
    s = np.linspace(0.0, 1.0, OUTLINE_POINTS)
    ang_a = (phi + psi)[..., None] + s * (2 * np.pi - 2 * psi)[..., None]
    ang_b = (phi - psi)[..., None] + s * (2 * psi)[..., None]
    arc_a = pa[..., None, :] + qa[..., None, None] * np.stack([np.cos(ang_a), np.sin(ang_a)], -1)
    arc_b = pb[..., None, :] + qb[..., None, None] * np.stack([np.cos(ang_b), np.sin(ang_b)], -1)
    return np.concatenate([arc_a, arc_b], axis=-2)


def _ellipsoid_outlines(parts: Parts, cam: Camera) -> np.ndarray:
    """Projected ellipsoid outlines via the dual quadric, ``[T, n_ell, OUTLINE_POINTS * 2, 2]``."""
    c = np.stack([e[0] for e in parts.ells], 1)  # [T, n, 3]
    rot = np.stack([e[1] for e in parts.ells], 1)  # [T, n, 3, 3]
    r2 = np.stack([e[2] for e in parts.ells]) ** 2  # [n, 3]
    T, n = c.shape[:2]
    q = np.zeros((T, n, 4, 4))
    q[..., :3, :3] = (
        np.einsum("tnij,nj,tnkj->tnik", rot, r2, rot) - c[..., :, None] * c[..., None, :]
    )
    q[..., :3, 3] = -c
    q[..., 3, :3] = -c
    q[..., 3, 3] = -1.0
    p = cam.matrix()
    dual = np.einsum("ij,tnjk,lk->tnil", p, q, p)  # [T, n, 3, 3], the outline's dual conic
    dual = dual / -dual[..., 2:3, 2:3]
    centre = -dual[..., :2, 2]
    shape = dual[..., :2, :2] + centre[..., :, None] * centre[..., None, :]
    shape = shape + np.eye(2) * 1e-3  # a floor blob seen edge-on is nearly degenerate
    chol = np.linalg.cholesky(shape)
    ang = np.linspace(0.0, 2 * np.pi, 2 * OUTLINE_POINTS, endpoint=False)
    circle = np.stack([np.cos(ang), np.sin(ang)], -1)  # [k, 2]
    return centre[..., None, :] + np.einsum("tnij,kj->tnki", chol, circle)


def rasterise(parts: Parts, cam: Camera) -> np.ndarray:
    """Fill every part's projected outline: uint8 ``[T, HEIGHT, WIDTH]`` with values 0 / 255."""
    outlines = np.concatenate([_capsule_outlines(parts, cam), _ellipsoid_outlines(parts, cam)], 1)
    fixed = np.round(outlines * (1 << _SHIFT)).astype(np.int32)
    frames = np.zeros((parts.t, HEIGHT, WIDTH), dtype=np.uint8)
    for t in range(parts.t):
        img = frames[t]
        for poly in fixed[t]:
            cv2.fillConvexPoly(img, poly, 255, cv2.LINE_8, _SHIFT)
    return frames


_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


def outline_jitter(frames: np.ndarray, rng: np.random.Generator, reach: float) -> int:
    """Dilate or erode a whole sequence's silhouettes, in place, by one radius drawn uniformly in
    ``[-reach, reach]`` pixels and rounded: what a background-subtraction threshold set for each
    recording does to the outline (a real person's silhouettes are not equally thick in every
    sequence). Returns the radius (> 0 dilated, < 0 eroded, 0 untouched)."""
    if reach <= 0:
        return 0
    radius = int(round(rng.uniform(-reach, reach)))
    if radius:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(radius) + 1,) * 2)
        op = cv2.dilate if radius > 0 else cv2.erode
        for t in range(len(frames)):
            op(frames[t], k, dst=frames[t])
    return radius


def thicken(frames: np.ndarray, radius: float) -> None:
    """Dilate every silhouette, in place, by ``radius`` pixels rounded (a disc): what loose
    clothes and a background subtraction's halo make of the bare body (limbs and gaps between
    them at the 64-pixel scale of the aligned frames are as full as in real CASIA-B). No random
    draw, so it changes nothing else a walker draws."""
    r = int(round(radius))
    if r <= 0:
        return
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)
    for t in range(len(frames)):
        cv2.dilate(frames[t], k, dst=frames[t])


def smooth(frames: np.ndarray, sigma: float) -> None:
    """Blur every silhouette, in place, with a Gaussian of ``sigma`` pixels and threshold it again
    at half: what a background subtraction's filtering does to an outline (corners rounded, thin
    protrusions and gaps narrower than about ``sigma`` gone or closed; at 2 the share of outline
    pixels comes near real CASIA-B's, results/synth-vs-real/frame_stats_smooth.md). No random
    draw, so it changes nothing else a walker draws; 0 leaves the frames as they are."""
    if sigma <= 0:
        return
    for t in range(len(frames)):
        blurred = cv2.GaussianBlur(frames[t], (0, 0), sigma)
        frames[t] = np.where(blurred >= 128, 255, 0).astype(np.uint8)


def segmentation_noise(frames: np.ndarray, rng: np.random.Generator, level: float) -> None:
    """Make clean silhouettes look like background subtraction, in place.

    Ragged edges (boundary pixels flipped at random, in small clumps), holes where clothing matched
    the background, the occasional broken frame (a band of the body missing) and blank frame.
    Work is limited to each frame's bounding box, which keeps it cheap.
    """
    if level <= 0:
        return
    T = len(frames)
    flip_p = min(0.45, 0.22 * level)
    for t in range(T):
        img = frames[t]
        rows = np.flatnonzero(img.max(axis=1))
        if rows.size == 0:
            continue
        cols = np.flatnonzero(img[rows[0] : rows[-1] + 1].max(axis=0))
        y0, y1 = max(rows[0] - 2, 0), min(rows[-1] + 3, HEIGHT)
        x0, x1 = max(cols[0] - 2, 0), min(cols[-1] + 3, WIDTH)
        crop = img[y0:y1, x0:x1]
        band = cv2.morphologyEx(crop, cv2.MORPH_GRADIENT, _KERNEL)
        # Clumpy noise: random values on a half-resolution grid, upsampled.
        h2, w2 = (y1 - y0 + 1) // 2, (x1 - x0 + 1) // 2
        coarse = rng.random((h2, w2)) < flip_p
        flip = np.repeat(np.repeat(coarse, 2, 0), 2, 1)[: y1 - y0, : x1 - x0]
        crop[(band > 0) & flip] ^= 255
        if rng.random() < 0.12 * level:
            # A hole: an ellipse inside the body where the segmentation missed.
            n = int(rng.integers(1, 3))
            for _ in range(n):
                cy = int(rng.integers(y0, y1))
                cx = int(rng.integers(x0, x1))
                ax = (int(rng.integers(2, 5 + 3 * level)), int(rng.integers(2, 7 + 4 * level)))
                cv2.ellipse(img, (cx, cy), ax, float(rng.uniform(0, 180)), 0, 360, 0, -1)
    # Whole-frame failures: a few per sequence at most.
    if rng.random() < 0.25 * level:
        t = int(rng.integers(T))
        frames[t] = 0
    if rng.random() < 0.3 * level:
        t = int(rng.integers(T))
        rows = np.flatnonzero(frames[t].max(axis=1))
        if rows.size > 10:
            # A band across the body lost (e.g. trousers the colour of the wall).
            a = int(rng.integers(rows[0], rows[-1]))
            frames[t, a : a + int(rng.integers(5, 25))] = 0
