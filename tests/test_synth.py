"""gaitbench synth: determinism, the PNG tree, store == prep(PNG), separability, CLI."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.data import synth
from gaitbench.data.align import align_sequence
from gaitbench.data.store import Store, provenance
from gaitbench.errors import GaitbenchError

SMALL = synth.SynthSpec(subjects=2, views=(0, 90), frames=(12, 16), seed=3)
TWO_WALKERS = ["--subjects", "2", "--views", "90", "--frames", "8-10", "--workers", "1"]


def _store_contents(path: Path) -> tuple[list[tuple], list[np.ndarray]]:
    s = Store(path)
    keys = list(
        s.index[["subject", "condition", "view", "length"]].itertuples(index=False, name=None)
    )
    frames = [s.read(i) for i in range(len(s))]
    s.close()
    return keys, frames


def test_same_seed_same_bytes_for_any_worker_count(tmp_path):
    a = synth.synthesize(tmp_path / "a.h5", SMALL, "store", workers=1)
    b = synth.synthesize(tmp_path / "b.h5", SMALL, "store", workers=2)
    keys_a, frames_a = _store_contents(a.path)
    keys_b, frames_b = _store_contents(b.path)
    assert keys_a == keys_b
    assert len(keys_a) == 2 * 10 * 2
    assert all(np.array_equal(x, y) for x, y in zip(frames_a, frames_b))
    # A sequence does not depend on which others are rendered around it.
    alone = synth.render_sequence(SMALL, 2, "cl-02", 90)
    again = synth.render_sequence(
        synth.SynthSpec(subjects=9, views=(90,), frames=(12, 16), seed=3), 2, "cl-02", 90
    )
    assert np.array_equal(alone, again)


def test_different_seed_different_people():
    other = synth.SynthSpec(subjects=2, views=(0, 90), frames=(12, 16), seed=4)
    a = align_sequence(synth.render_sequence(SMALL, 1, "nm-01", 90))
    b = align_sequence(synth.render_sequence(other, 1, "nm-01", 90))
    n = min(len(a), len(b))
    assert (a[:n] != b[:n]).mean() > 0.02
    s1 = synth.body.sample_subject(synth.subject_rng(3, 1))
    s2 = synth.body.sample_subject(synth.subject_rng(4, 1))
    assert s1.height != s2.height and s1.stride_freq != s2.stride_freq


def test_png_tree_layout_and_naming(tmp_path):
    out = synth.synthesize(tmp_path / "raw", SMALL, "png", workers=1).path
    folders = sorted(p.relative_to(out).as_posix() for p in out.glob("*/*/*"))
    expected = sorted(
        f"{s:03d}/{c}/{v:03d}" for s in (1, 2) for c in synth.CONDITIONS for v in (0, 90)
    )
    assert folders == expected
    pattern = re.compile(r"^(\d{3})-((?:nm|bg|cl)-\d{2})-(\d{3})-(\d{3})\.png$")
    for folder in out.glob("*/*/*"):
        names = sorted(p.name for p in folder.iterdir())
        assert 12 <= len(names) <= 16
        for i, name in enumerate(names, 1):
            m = pattern.match(name)
            assert m, name
            assert m.group(1, 2, 3) == tuple(folder.relative_to(out).parts)
            assert int(m.group(4)) == i
    img = cv2.imread(str(next(out.glob("001/nm-01/090/*.png"))), cv2.IMREAD_UNCHANGED)
    assert img.shape == (240, 320) and img.dtype == np.uint8
    assert set(np.unique(img)) <= {0, 255} and (img == 255).sum() > 500
    assert not list(tmp_path.glob(".*tmp*")), "temporary folder left behind"


def _align_png_tree(root: Path) -> dict[tuple[str, str, str], np.ndarray]:
    out = {}
    for folder in sorted(root.glob("*/*/*")):
        frames = np.stack(
            [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(folder.glob("*.png"))]
        )
        aligned = align_sequence(frames, 64)
        if len(aligned):
            out[tuple(folder.relative_to(root).parts)] = aligned
    return out


def test_store_equals_aligned_png_tree(tmp_path):
    raw = synth.synthesize(tmp_path / "raw", SMALL, "png", workers=2).path
    store = synth.synthesize(tmp_path / "s.h5", SMALL, "store", workers=2).path
    from_png = _align_png_tree(raw)
    s = Store(store)
    assert len(s) == len(from_png)
    for i, row in enumerate(s.index.itertuples()):
        assert np.array_equal(s.read(i), from_png[(row.subject, row.condition, row.view)])
    assert s.dataset == "casia-b" and s.size == 64
    assert s.partition == {"train": ["001"], "test": ["002"]}


def test_prep_of_png_tree_equals_store(tmp_path):
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    if "prep" not in names:
        pytest.skip("`gaitbench prep` is not registered yet; equality is tested via align_sequence")
    raw = synth.synthesize(tmp_path / "raw", SMALL, "png", workers=2).path
    store = synth.synthesize(tmp_path / "s.h5", SMALL, "store", workers=2).path
    prepped = tmp_path / "prep.h5"
    r = CliRunner().invoke(app, ["prep", "casia-b", str(raw), "--out", str(prepped)])
    assert r.exit_code == 0, r.output
    a, b = Store(store), Store(prepped)
    key = lambda s: {
        (r.subject, r.condition, r.view): i for i, r in enumerate(s.index.itertuples())
    }  # noqa: E731
    ka, kb = key(a), key(b)
    assert ka.keys() == kb.keys()
    for k, i in ka.items():
        assert np.array_equal(a.read(i), b.read(kb[k]))


def test_partition_attribute():
    assert synth.SynthSpec(subjects=124).partition() is None
    p = synth.SynthSpec(subjects=20).partition()
    assert p["train"] == [f"{i:03d}" for i in range(1, 13)]
    assert p["test"] == [f"{i:03d}" for i in range(13, 21)]


def test_subjects_separable_but_coats_hard():
    # 10 people, three side views, short sequences: GEI nearest neighbour, CASIA-B protocol.
    spec = synth.SynthSpec(subjects=10, views=(72, 90, 108), frames=(28, 32), seed=0)
    result = synth.calibrate(spec, subjects=range(1, 11), workers=2)
    chance = 100 / 10
    assert result["NM"]["mean"] > 4 * chance
    assert result["CL"]["mean"] < 100
    assert result["NM"]["mean"] > result["CL"]["mean"]


def test_coat_and_bag_change_the_outline():
    spec = synth.SynthSpec(subjects=1, views=(90,), frames=(30, 30), seed=1)
    area = {
        c: (align_sequence(synth.render_sequence(spec, 1, c, 90, noise=False)) > 0).mean()
        for c in ("nm-01", "bg-01", "cl-01")
    }
    assert area["cl-01"] > area["nm-01"] * 1.15
    assert area["bg-01"] > area["nm-01"]


def test_garment_is_the_persons_own_and_off_by_default():
    """The ``garment`` knob: 0 in every level (version-1 walkers, byte for byte); above 0, bulges
    that only add to the outline, are the same in every sequence of a person, differ between
    people, and come from a stream of their own (nothing else a walker draws changes)."""
    from gaitbench.data import synth_body

    assert all(level["garment"] == 0 for level in synth_body.DIFFICULTY.values())
    assert synth_body.sample_garment(synth.garment_rng(0, 1), 0.0) == ()
    spec = synth.SynthSpec(subjects=2, views=(90,), frames=(20, 20), seed=1)
    zero = synth.SynthSpec(subjects=2, views=(90,), frames=(20, 20), seed=1, tune=(("garment", 0),))
    worn = synth.SynthSpec(subjects=2, views=(90,), frames=(20, 20), seed=1, tune=(("garment", 2),))
    for c in ("nm-01", "cl-01"):
        plain = synth.render_sequence(spec, 1, c, 90, noise=False)
        assert np.array_equal(
            synth.render_sequence(zero, 1, c, 90), synth.render_sequence(spec, 1, c, 90)
        )
        dressed = synth.render_sequence(worn, 1, c, 90, noise=False)
        assert np.array_equal(dressed, synth.render_sequence(worn, 1, c, 90, noise=False))
        assert np.all(dressed >= plain)  # bulges only add to the outline
        if c == "nm-01":
            assert (dressed > plain).sum() > 20 * len(plain)  # and visibly so: > 20 px a frame
    one = synth_body.sample_garment(synth.garment_rng(1, 1), 2.0)
    assert one == synth_body.sample_garment(synth.garment_rng(1, 1), 2.0)
    assert one != synth_body.sample_garment(synth.garment_rng(1, 2), 2.0)
    assert 3 <= len(one) <= 7 and {b.anchor for b in one} <= set(synth_body.ANCHORS)


def test_coat_shape_replaces_the_covered_bulges_in_cl_only_and_is_off_by_default():
    """The ``coat_shape`` knob: 0 in every level; above 0, the coat (CL sequences only) hides the
    person's clothing bulges on the parts it covers and carries bulges of its own, the same coat in
    both CL sequences of a person; NM and BG are untouched, and so is every other draw."""
    from gaitbench.data import synth_body

    assert all(level["coat_shape"] == 0 for level in synth_body.DIFFICULTY.values())
    base = dict(subjects=2, views=(90,), frames=(20, 20), seed=1)
    worn = synth.SynthSpec(**base, tune=(("garment", 2),))
    coated = synth.SynthSpec(**base, tune=(("coat_shape", 2), ("garment", 2)))
    for c in ("nm-01", "bg-01"):
        assert np.array_equal(
            synth.render_sequence(coated, 1, c, 90), synth.render_sequence(worn, 1, c, 90)
        )
    plain = synth.render_sequence(worn, 1, "cl-01", 90, noise=False)
    own = synth.render_sequence(coated, 1, "cl-01", 90, noise=False)
    assert own.shape == plain.shape and (own != plain).sum() > 20 * len(own)
    assert np.array_equal(own, synth.render_sequence(coated, 1, "cl-01", 90, noise=False))
    # The person's own bulges on covered parts are gone from the coated body, the rest remain.
    person = synth_body.sample_subject(synth.subject_rng(1, 1), coated.knobs)
    garment = synth_body.sample_garment(synth.garment_rng(1, 1), 2.0)
    coat = synth_body.sample_garment(
        synth.coat_rng(1, 1), 2.0, synth_body.COAT_ANCHORS, reach=(1.1, 1.5)
    )
    assert {b.anchor for b in coat} <= set(synth_body.COAT_ANCHORS) and 3 <= len(coat) <= 7
    walk = synth_body.sample_walk(synth.sequence_rng(1, 1, "cl-01", 90), 90, (20, 20), coated.knobs)
    kept = [b for b in garment if b.anchor not in synth_body.COAT_ANCHORS]
    dressed = dataclasses.replace(person, garment=garment, coat_garment=coat)
    bare = dataclasses.replace(person, garment=(), coat_garment=())
    n_dressed = len(synth_body.build_body(dressed, walk, "cl-01", coated.knobs).ells)
    n_bare = len(synth_body.build_body(bare, walk, "cl-01", coated.knobs).ells)
    assert n_dressed - n_bare == len(kept) + len(coat)


def _neutral_setting_renders_the_default(knob: str, value: float) -> synth.SynthSpec:
    """A knob tuned to its setting in every level renders what the untuned level renders; returns
    the untuned spec (2 walkers, view 90, 20 frames, seed 1) for the test to go on with."""
    from gaitbench.data import synth_body

    assert all(level[knob] == value for level in synth_body.DIFFICULTY.values())
    base = dict(subjects=2, views=(90,), frames=(20, 20), seed=1)
    spec = synth.SynthSpec(**base)
    same = synth.SynthSpec(**base, tune=((knob, value),))
    assert np.array_equal(
        synth.render_sequence(same, 1, "nm-01", 90), synth.render_sequence(spec, 1, "nm-01", 90)
    )
    return spec


def test_motion_spreads_gait_motion_apart_and_leaves_body_shape():
    """The ``motion`` knob: 1 in every level (version-1 stores unchanged); it scales how far
    people's gait motion (cadence, stride, swings, timing) lies from the mean, on top of
    ``people``, and leaves body shape and posture as ``people`` alone draws them."""
    from gaitbench.data import synth_body

    spec = _neutral_setting_renders_the_default("motion", 1.0)
    base = dict(subjects=2, views=(90,), frames=(20, 20), seed=1)
    mean = synth_body.sample_subject(synth.subject_rng(1, 1), {**spec.knobs, "people": 0.0})
    for subject in (1, 2):
        full = synth_body.sample_subject(synth.subject_rng(1, subject), spec.knobs)
        half = synth_body.sample_subject(
            synth.subject_rng(1, subject), {**spec.knobs, "motion": 0.5}
        )
        assert half.height == full.height and half.shoulders == full.shoulders
        assert half.lean == full.lean and half.elbow == full.elbow  # posture: people alone
        for name in ("stride_freq", "hip_amp", "knee_swing", "arm_amp", "asym_amp"):
            # Half the distance from the mean (none of these draws reaches its clip here).
            offset, offset_full = (getattr(p, name) - getattr(mean, name) for p in (half, full))
            assert offset == pytest.approx(offset_full / 2, abs=1e-12), name
    frozen = synth.SynthSpec(**base, tune=(("motion", 0),))
    a = synth_body.sample_subject(synth.subject_rng(1, 1), frozen.knobs)
    b = synth_body.sample_subject(synth.subject_rng(1, 2), frozen.knobs)
    assert a.stride_freq == b.stride_freq == mean.stride_freq and a.height != b.height


def test_thicken_dilates_every_frame_and_is_off_by_default():
    """The ``thicken`` knob: 0 in every level (version-1 stores unchanged); above 0, every frame of
    every sequence is the body dilated by that radius (a disc) before the segmentation noise, with
    no random draw, so the noise and everything else a walker draws are unchanged."""
    spec = _neutral_setting_renders_the_default("thicken", 0.0)
    base = dict(subjects=2, views=(90,), frames=(20, 20), seed=1)
    clean = synth.render_sequence(spec, 1, "nm-01", 90, noise=False)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    for radius in (2, 1.6):  # rounded to whole pixels
        quiet = synth.SynthSpec(**base, tune=(("thicken", radius), ("noise", 0)))
        assert np.array_equal(
            synth.render_sequence(quiet, 1, "nm-01", 90),
            np.stack([cv2.dilate(f, k) for f in clean]),
        )
    # Fuller, never thinner, and the body's exact outline without noise is untouched.
    fat = synth.SynthSpec(**base, tune=(("thicken", 2),))
    assert np.array_equal(synth.render_sequence(fat, 1, "nm-01", 90, noise=False), clean)
    quiet = synth.SynthSpec(**base, tune=(("noise", 0),))
    bare = synth.render_sequence(quiet, 1, "cl-01", 90)
    full = synth.render_sequence(
        synth.SynthSpec(**base, tune=(("noise", 0), ("thicken", 1))), 1, "cl-01", 90
    )
    assert np.all(full >= bare) and (full > 0).sum() > (bare > 0).sum()


def test_smooth_blurs_and_rethresholds_every_frame_and_is_off_by_default():
    """The ``smooth`` knob: 0 in every level (version-1 stores unchanged); above 0, every frame is
    the body blurred by a Gaussian of that many pixels and thresholded again at half, before the
    thickening and the noise, with no random draw. A protrusion one pixel wide goes, a square
    block stays."""
    from gaitbench.data import synth_body

    spec = _neutral_setting_renders_the_default("smooth", 0.0)
    base = dict(subjects=2, views=(90,), frames=(20, 20), seed=1)
    clean = synth.render_sequence(spec, 1, "nm-01", 90, noise=False)
    quiet = synth.SynthSpec(**base, tune=(("smooth", 2.0), ("noise", 0)))
    want = np.stack([np.where(cv2.GaussianBlur(f, (0, 0), 2.0) >= 128, 255, 0) for f in clean])
    got = synth.render_sequence(quiet, 1, "nm-01", 90)
    assert np.array_equal(got, want.astype(np.uint8))
    assert not np.array_equal(got, clean)  # the walker's outline did change
    assert np.array_equal(synth.render_sequence(quiet, 1, "nm-01", 90, noise=False), clean)
    frame = np.zeros((1, 40, 40), np.uint8)
    frame[0, 10:30, 10:30] = 255
    frame[0, 2:10, 20] = 255  # a spike one pixel wide above the block
    synth_body.smooth(frame, 2.0)
    assert frame[0, 2:8, 20].max() == 0 and frame[0, 15:25, 15:25].min() == 255


def test_outline_dilates_or_erodes_each_sequence_and_is_off_by_default():
    """The ``outline`` knob: 0 in every level (version-1 stores unchanged); above 0, each sequence's
    silhouettes are dilated or eroded by one radius of its own (the same sequence, the same radius),
    drawn from a stream of its own, so nothing else a walker draws changes."""
    from gaitbench.data import synth_body

    spec = _neutral_setting_renders_the_default("outline", 0.0)
    base = dict(subjects=2, views=(90,), frames=(20, 20), seed=1)
    jittered = synth.SynthSpec(**base, tune=(("outline", 3),))
    # noise=False is the body's exact outline, jitter or not.
    assert np.array_equal(
        synth.render_sequence(jittered, 1, "nm-01", 90, noise=False),
        synth.render_sequence(spec, 1, "nm-01", 90, noise=False),
    )
    # The radius: one per sequence, from its own stream, in [-3, 3].
    radii = {
        (c, v): synth_body.outline_jitter(
            np.zeros((1, 8, 8), np.uint8), synth.outline_rng(1, 1, c, v), 3.0
        )
        for c in synth.CONDITIONS
        for v in (0, 90, 180)
    }
    assert set(radii.values()) <= set(range(-3, 4)) and len(set(radii.values())) >= 3
    # Applied before the segmentation noise: a clean body dilated (eroded) by that radius.
    clean = synth.render_sequence(spec, 1, "nm-01", 90, noise=False)
    for r in (2, -2):
        frames = clean.copy()
        rng = np.random.default_rng(0)
        while synth_body.outline_jitter(frames, rng, 2.0) != r:
            frames = clean.copy()
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(r) + 1,) * 2)
        op = cv2.dilate if r > 0 else cv2.erode
        assert np.array_equal(frames[3], op(clean[3], k))
        assert np.sign((frames > 0).sum() - (clean > 0).sum()) == np.sign(r)
    # In a rendered store, a sequence whose radius is 0 is untouched; the others are not.
    for (c, v), radius in list(radii.items())[:6]:
        same = np.array_equal(
            synth.render_sequence(jittered, 1, c, v), synth.render_sequence(spec, 1, c, v)
        )
        assert same == (radius == 0), (c, v, radius)


def test_views_are_projections_not_flips():
    spec = synth.SynthSpec(subjects=1, frames=(20, 20), seed=2)
    side = synth.render_sequence(spec, 1, "nm-01", 90, noise=False)
    front = synth.render_sequence(spec, 1, "nm-01", 0, noise=False)
    width = lambda f: np.mean(
        [np.ptp(np.flatnonzero(x.max(0))) / np.ptp(np.flatnonzero(x.max(1))) for x in f]
    )  # noqa: E731
    # Seen from the front, legs and arms swing along the viewing ray: a narrower outline.
    assert width(front) < 0.8 * width(side)
    # The walker crosses the frame at 90 degrees and approaches (grows) at 0 degrees.
    centre_x = [np.flatnonzero(x.max(0)).mean() for x in side]
    assert centre_x[-1] - centre_x[0] > 30
    height = [np.ptp(np.flatnonzero(x.max(1))) for x in front]
    assert height[-1] > height[0]


def test_bad_options_are_user_errors(tmp_path):
    with pytest.raises(GaitbenchError, match="difficulty"):
        synth.SynthSpec(difficulty="brutal")
    with pytest.raises(GaitbenchError, match="--views"):
        synth.parse_views("0:180")
    assert synth.parse_views("0:180:18") == synth.DEFAULT_VIEWS
    assert synth.parse_frames("60-100") == (60, 100)
    (tmp_path / "x.h5").write_bytes(b"")
    with pytest.raises(GaitbenchError, match="--force"):
        synth.synthesize(tmp_path / "x.h5", SMALL, "store")


def test_tune_replaces_knobs_and_is_recorded(tmp_path):
    assert synth.parse_tune("within=1.3, noise=1.5") == (("noise", 1.5), ("within", 1.3))
    assert synth.parse_tune("") == ()
    assert synth.format_tune((("noise", 1.5), ("within", 1.3))) == "noise=1.5,within=1.3"
    for bad in ("within", "within=x", "=1"):
        with pytest.raises(GaitbenchError, match="KNOB=VALUE|unknown knob"):
            synth.SynthSpec(tune=synth.parse_tune(bad))
    with pytest.raises(GaitbenchError, match="unknown knob; choose among people, within"):
        synth.SynthSpec(tune=(("wobble", 1.0),))
    with pytest.raises(GaitbenchError, match="noise=-1"):
        synth.SynthSpec(tune=(("noise", -1.0),))
    # Tuning a knob to its level's own value renders the same bytes; another value, other bytes.
    same = synth.SynthSpec(
        subjects=2, views=(0, 90), frames=(12, 16), seed=3, tune=(("within", 1.0),)
    )
    noisier = synth.SynthSpec(
        subjects=2, views=(0, 90), frames=(12, 16), seed=3, tune=(("noise", 3.0),)
    )
    base = synth.render_sequence(SMALL, 1, "cl-01", 90)
    assert np.array_equal(synth.render_sequence(same, 1, "cl-01", 90), base)
    other = synth.render_sequence(noisier, 1, "cl-01", 90)
    assert other.shape == base.shape and not np.array_equal(other, base)
    assert noisier.knobs == {
        "people": 1.0,
        "within": 1.0,
        "cover": 1.0,
        "noise": 3.0,
        "garment": 0.0,
        "coat_shape": 0.0,
        "outline": 0.0,
        "thicken": 0.0,
        "motion": 1.0,
        "rig": 0.0,
        "narrow": 0.0,
        "pace": 0.0,
        "coat": 1.0,
        "leg_bulges": 1.0,
        "shadow": 0.0,
        "leg_shape": 1.0,
        "coat_bulk": 1.0,
        "smooth": 0.0,
    }
    assert "tune" not in SMALL.generator()
    assert noisier.generator()["tune"] == {"noise": 3.0}
    # The store records the tuned knobs; the CLI refuses an unknown one with one line.
    runner = CliRunner()
    out = tmp_path / "t.h5"
    args = ["synth", str(out), *TWO_WALKERS]
    r = runner.invoke(app, [*args, "--tune", "cover=1.5,noise=0"])
    assert r.exit_code == 0, r.output
    s = Store(out)
    assert provenance(s)["generator"]["tune"] == {"cover": 1.5, "noise": 0.0}
    assert str(s.attrs["source"]).endswith("tune=cover=1.5,noise=0")
    s.close()
    r = runner.invoke(app, [*args, "--force", "--tune", "wobble=2"])
    assert r.exit_code == 1 and "--tune wobble: unknown knob" in r.output


def test_cli_store_and_preview(tmp_path):
    runner = CliRunner()
    out, sheet = tmp_path / "d.h5", tmp_path / "p.png"
    r = runner.invoke(
        app, ["synth", str(out), *TWO_WALKERS, "--difficulty", "easy", "--preview", str(sheet)]
    )
    assert r.exit_code == 0, r.output
    s = Store(out)
    assert len(s) == 20 and s.subjects() == ["001", "002"]
    img = cv2.imread(str(sheet))
    assert img is not None and img.shape[0] > 100 and img.std() > 10
    r = runner.invoke(app, ["synth", str(out), "--subjects", "2"])
    assert r.exit_code == 1 and "--force" in r.output


def test_report_heading_names_the_tuned_knobs():
    from gaitbench.reporting.tables import _generator_text

    g = synth.SynthSpec(tune=(("noise", 1.5), ("within", 1.3))).generator()
    assert _generator_text({"generator": g}) == (
        "gaitbench synth: 124 subjects, 11 views, standard tuned noise=1.5,within=1.3, seed 0"
    )
    assert _generator_text({"generator": synth.SynthSpec().generator()}).endswith(
        "11 views, standard, seed 0"
    )


def test_rig_moves_each_views_camera_the_same_for_every_sequence_and_is_off_by_default():
    """The ``rig`` knob: 0 in every level (version-1 stores unchanged); above 0, each view is its
    own fixed camera: offsets drawn once per view from a stream of their own, the same for every
    subject and condition of the view, different between views, and scaled by the knob."""
    from gaitbench.data import synth_body

    spec = _neutral_setting_renders_the_default("rig", 0.0)
    walk = synth_body.sample_walk(synth.sequence_rng(1, 1, "nm-01", 90), 90, (20, 20), spec.knobs)
    offsets = {}
    for view in (0, 18, 90):
        for rig in (1.0, 2.0):
            az, moved = synth_body.place_camera(synth.rig_rng(1, view), walk, rig)
            offsets[view, rig] = (
                az,
                moved.cam_height - walk.cam_height,
                moved.cam_dist / walk.cam_dist,
                moved.aim - walk.aim,
            )
            # the person keeps their size in the frame: the zoom follows the distance
            assert moved.focal / walk.focal == pytest.approx(moved.cam_dist / walk.cam_dist)
            assert (moved.frames, moved.speed, moved.noise) == (walk.frames, walk.speed, walk.noise)
    assert len({offsets[v, 1.0] for v in (0, 18, 90)}) == 3  # every view its own camera
    az1, dh1, _, aim1 = offsets[0, 1.0]
    az2, dh2, _, aim2 = offsets[0, 2.0]
    assert az1 != 0 and (az2, dh2, aim2) == pytest.approx((2 * az1, 2 * dh1, 2 * aim1), rel=1e-6)
    # The same camera for every subject and condition of a view: their sequences render as if
    # the untuned camera were moved by that view's offsets.
    base = dict(subjects=2, views=(18,), frames=(20, 20), seed=1)
    rigged = synth.SynthSpec(**base, tune=(("rig", 1.0),))
    plain = synth.SynthSpec(**base)
    az = offsets[18, 1.0][0]
    for subject, condition in ((1, "nm-01"), (2, "cl-02")):
        frames = synth.render_sequence(rigged, subject, condition, 18, noise=False)
        w = synth_body.sample_walk(
            synth.sequence_rng(1, subject, condition, 18), 18, (20, 20), plain.knobs
        )
        person = synth_body.sample_subject(synth.subject_rng(1, subject), plain.knobs)
        parts = synth_body.build_body(person, w, condition, plain.knobs)
        _, moved = synth_body.place_camera(synth.rig_rng(1, 18), w, 1.0)
        expect = synth_body.rasterise(parts, synth_body.Camera.at_view(18 + az, moved))
        assert np.array_equal(frames, expect)
        unrigged = synth.render_sequence(plain, subject, condition, 18, noise=False)
        assert not np.array_equal(frames, unrigged)


def test_narrow_brings_the_limbs_to_the_midline_and_is_off_by_default():
    """The ``narrow`` knob: 0 in every level (version-1 stores unchanged); above 0 the legs and
    arms are carried closer to the body's midline, with no random draw: seen from the front
    (view 0) a quarter as many rows of the lower body show a gap between the legs or fewer, and
    the silhouette is narrower; the rest of the walker (its height in the frame) is unchanged."""
    spec = _neutral_setting_renders_the_default("narrow", 0.0)
    base = dict(subjects=2, views=(0,), frames=(20, 20), seed=1)

    def leg_gap_rows(frames: np.ndarray) -> float:
        b = frames > 0
        lo, hi = np.nonzero(b.any(axis=(0, 2)))[0][[0, -1]]
        lower = b[:, lo + (hi - lo) * 2 // 3 : hi - 2]  # the lower third, above the feet
        runs = (np.diff(lower.astype(np.int8), axis=2) == 1).sum(axis=2) + lower[:, :, 0]
        return float((runs > 1).mean())

    for subject in (1, 2):
        apart = synth.render_sequence(spec, subject, "nm-01", 0, noise=False)
        close = synth.render_sequence(
            synth.SynthSpec(**base, tune=(("narrow", 1.0),)), subject, "nm-01", 0, noise=False
        )
        assert leg_gap_rows(apart) > 0.7 and leg_gap_rows(close) < 0.25 * leg_gap_rows(apart)
        assert (close > 0).sum() < (apart > 0).sum()
        top_bottom = [np.nonzero((f > 0).any(axis=(0, 2)))[0][[0, -1]] for f in (close, apart)]
        assert np.array_equal(*top_bottom)


def test_pace_makes_the_gait_drift_within_a_sequence_and_is_off_by_default():
    """The ``pace`` knob: 0 in every level (version-1 stores unchanged); above 0 the gait cycle
    is no longer repeated exactly: seen from the side, aligned frames one gait cycle apart
    differ more than with a steady gait, around the same mean cadence and amplitude, and the
    walker's height in the frame stays that of the steady walk (its other draws are untouched)."""
    from gaitbench.data import synth_body

    spec = _neutral_setting_renders_the_default("pace", 0.0)
    base = dict(subjects=3, views=(90,), frames=(80, 80), seed=1)
    steady_spec = synth.SynthSpec(**base)
    drift_spec = synth.SynthSpec(**base, tune=(("pace", 3.0),))
    change = {"steady": 0.0, "drift": 0.0}
    for subject in (1, 2, 3):
        person = synth_body.sample_subject(synth.subject_rng(1, subject), spec.knobs)
        walk = synth_body.sample_walk(synth.sequence_rng(1, subject, "nm-01", 90), 90, (80, 80))
        rng = synth.pace_rng(1, subject, "nm-01", 90)
        wobble = synth_body.vary_pace(rng, walk, 3.0).wobble
        assert wobble.shape == (4, 80)
        sd = [synth_body.PACE_SD[k] * 3.0 for k in ("rate", "amp", "arm", "lean")]
        assert all(0.3 * s < np.std(w) < 2.0 * s for w, s in zip(wobble, sd))
        assert abs(wobble[0].mean() - 1.0) < 0.25 and abs(wobble[1].mean() - 1.0) < 0.25
        period = int(round(synth_body.FPS / (person.stride_freq * walk.speed**0.5)))
        frames = {}
        for name, s in (("steady", steady_spec), ("drift", drift_spec)):
            frames[name] = synth.render_sequence(s, subject, "nm-01", 90, noise=False)
            a = synth.align_sequence(frames[name], 64).astype(np.float32)
            change[name] += float(np.abs(a[period:] - a[:-period]).mean())
        steady, drift = frames["steady"], frames["drift"]
        assert steady.shape == drift.shape
        height = [np.ptp(np.nonzero((f > 0).any(axis=(0, 2)))[0]) for f in (steady, drift)]
        assert abs(height[0] - height[1]) <= 3
    assert change["drift"] > 1.2 * change["steady"]


def test_coat_shrinks_the_coat_and_shows_the_legs_and_is_one_by_default():
    """The ``coat`` knob: 1 in every level (version-1 stores unchanged); below 1 the coat is less
    bulky and its hem rises towards the hip: seen from the side, a cl sequence fills less of the
    frame and shows a gap between the legs in more rows of the lower body, while nm sequences
    render the same bytes (the knob only touches the coat)."""
    _neutral_setting_renders_the_default("coat", 1.0)
    base = dict(subjects=2, views=(90,), frames=(30, 30), seed=1)
    full = synth.SynthSpec(**base)
    light = synth.SynthSpec(**base, tune=(("coat", 0.3),))

    def lower_gap_rows(frames: np.ndarray) -> float:
        b = frames > 0
        lo, hi = np.nonzero(b.any(axis=(0, 2)))[0][[0, -1]]
        lower = b[:, lo + (hi - lo) * 3 // 4 : hi - 2]
        runs = (np.diff(lower.astype(np.int8), axis=2) == 1).sum(axis=2) + lower[:, :, 0]
        return float((runs > 1).mean())

    for subject in (1, 2):
        nm = [synth.render_sequence(s, subject, "nm-01", 90, noise=False) for s in (full, light)]
        assert np.array_equal(*nm)
        coat, jacket = (
            synth.render_sequence(s, subject, "cl-01", 90, noise=False) for s in (full, light)
        )
        assert (jacket > 0).sum() < 0.92 * (coat > 0).sum()
        assert lower_gap_rows(jacket) > lower_gap_rows(coat) + 0.1


def test_coat_bulk_scales_the_coats_girth_and_sleeves_and_leaves_its_hem():
    """The ``coat_bulk`` knob: 1 in every level (version-1 stores unchanged); on top of ``coat``
    it scales the coat's girth beyond the body's and its sleeves, not its hem: at coat=0.4,
    coat_bulk=2 the coat's trunk ellipsoid has coat=0.8's radii, its skirt still ends at
    coat=0.4's height, the cl silhouette is fuller, and nm sequences render the same bytes."""
    from gaitbench.data import synth_body

    spec = _neutral_setting_renders_the_default("coat_bulk", 1.0)
    walk = synth_body.sample_walk(synth.sequence_rng(1, 1, "cl-01", 90), 90, (20, 20), spec.knobs)
    person = synth_body.sample_subject(synth.subject_rng(1, 1), spec.knobs)

    def coat(fit: float, bulk: float) -> tuple[np.ndarray, float]:
        """The coat's trunk ellipsoid radii and the lowest point of its skirt's capsules."""
        knobs = {**spec.knobs, "coat": fit, "coat_bulk": bulk}
        nm = synth_body.build_body(person, walk, "nm-01", knobs)
        cl = synth_body.build_body(person, walk, "cl-01", knobs)
        assert len(cl.ells) == len(nm.ells) + 1 and len(cl.caps) == len(nm.caps) + 3
        new = [e[2] for e in cl.ells if not any(np.array_equal(e[2], n[2]) for n in nm.ells)]
        assert len(new) == 1  # the coat's trunk; its skirt is the last three capsules
        radii, skirt = new[0], cl.caps[len(nm.caps) :]
        return radii, min(float(c[1][:, 2].min()) for c in skirt)

    radii_light, hem_light = coat(0.4, 1.0)
    radii_bulky, hem_bulky = coat(0.4, 2.0)
    radii_long, hem_long = coat(0.8, 1.0)
    assert np.allclose(radii_bulky, radii_long) and (radii_bulky > radii_light).all()
    assert hem_bulky == pytest.approx(hem_light) and hem_long < hem_light - 0.01
    base = dict(subjects=1, views=(90,), frames=(20, 20), seed=1)
    light, bulky = (
        synth.SynthSpec(**base, tune=(("coat", 0.4), ("coat_bulk", b))) for b in (1.0, 2.0)
    )
    nm = [synth.render_sequence(s, 1, "nm-01", 90, noise=False) for s in (light, bulky)]
    assert np.array_equal(*nm)
    cl = [(synth.render_sequence(s, 1, "cl-01", 90, noise=False) > 0).sum() for s in (light, bulky)]
    assert cl[1] > 1.015 * cl[0]  # 2.4 % fuller here


def test_leg_bulges_scales_only_the_bulges_on_the_legs_and_is_one_by_default():
    """The ``leg_bulges`` knob: 1 in every level (version-1 stores unchanged); 0 renders the
    person as if the bulges on the thighs and shanks had never been drawn (every other bulge and
    draw stays), and a subject with leg bulges then covers fewer pixels."""
    import dataclasses

    from gaitbench.data import synth_body

    _neutral_setting_renders_the_default("leg_bulges", 1.0)
    base = dict(subjects=3, views=(90,), frames=(20, 20), seed=1)
    dressed = synth.SynthSpec(**base, tune=(("garment", 2.0),))
    plain = synth.SynthSpec(**base, tune=(("garment", 2.0), ("leg_bulges", 0.0)))
    changed = 0
    for subject in (1, 2, 3):
        garment = synth_body.sample_garment(synth.garment_rng(1, subject), 2.0)
        kept = tuple(b for b in garment if b.anchor not in synth_body.LEG_ANCHORS)
        person = dataclasses.replace(
            synth_body.sample_subject(synth.subject_rng(1, subject), dressed.knobs), garment=kept
        )
        walk = synth_body.sample_walk(
            synth.sequence_rng(1, subject, "nm-01", 90), 90, (20, 20), dressed.knobs
        )
        parts = synth_body.build_body(person, walk, "nm-01", dressed.knobs)
        expect = synth_body.rasterise(parts, synth_body.Camera.at_view(90, walk))
        frames = synth.render_sequence(plain, subject, "nm-01", 90, noise=False)
        assert np.array_equal(frames, expect)
        if len(kept) < len(garment):
            full = synth.render_sequence(dressed, subject, "nm-01", 90, noise=False)
            assert (frames > 0).sum() < (full > 0).sum()
            changed += 1
    assert changed >= 1


def test_shadow_gives_a_noise_free_walker_a_shadow_and_is_off_by_default():
    """The ``shadow`` knob: 0 in every level, where the shadow's size follows ``noise`` (version-1
    stores unchanged); above 0 a store without noise gets shadows of their own size, drawn from
    the same numbers (every other field of the walk is unchanged), which fill the frame's
    bottom rows beside the feet."""
    import dataclasses

    from gaitbench.data import synth_body

    _neutral_setting_renders_the_default("shadow", 0.0)
    clean = {**synth_body.DIFFICULTY["standard"], "noise": 0.0}
    shaded = {**clean, "shadow": 1.0}
    sizes = []
    for view in (0, 18, 36, 54, 72, 90, 108, 126, 144, 162, 180):
        a = synth_body.sample_walk(synth.sequence_rng(1, 1, "nm-01", view), view, (20, 20), clean)
        b = synth_body.sample_walk(synth.sequence_rng(1, 1, "nm-01", view), view, (20, 20), shaded)
        assert a.shadow == 0.0 and dataclasses.replace(a, shadow=b.shadow) == b
        sizes.append(b.shadow)
    assert sum(x > 0 for x in sizes) >= 5 and max(sizes) <= 1.0
    views = (0, 18, 36, 54, 72, 90, 108, 126, 144, 162, 180)
    view = views[next(i for i, x in enumerate(sizes) if x > 0.3)]  # a shadow worth seeing
    base = dict(subjects=1, views=(view,), frames=(20, 20), seed=1)
    spec = synth.SynthSpec(**base, tune=(("noise", 0.0), ("shadow", 1.0)))
    plain = synth.SynthSpec(**base, tune=(("noise", 0.0),))
    with_shadow = synth.render_sequence(spec, 1, "nm-01", view) > 0
    without = synth.render_sequence(plain, 1, "nm-01", view) > 0
    assert with_shadow.sum() > without.sum() and (with_shadow >= without).all()


def test_leg_shape_draws_the_legs_nearer_the_mean_and_leaves_the_arms():
    """The ``leg_shape`` knob: 1 in every level (version-1 stores unchanged); at 0 every person's
    thighs have the mean limb thickness (the first capsule's hip radius, by hand) and the same
    foot angle, while the arms keep the person's own thickness; in between, half way."""
    from gaitbench.data import synth_body

    spec = _neutral_setting_renders_the_default("leg_shape", 1.0)
    walk = synth_body.sample_walk(synth.sequence_rng(1, 1, "nm-01", 90), 90, (10, 10), spec.knobs)
    for subject in (1, 2):
        person = synth_body.sample_subject(synth.subject_rng(1, subject), spec.knobs)
        scale = 1.15 * (0.8 + 0.2 * person.build) * person.height / 1.7
        radii = {}
        for shape in (1.0, 0.5, 0.0):
            parts = synth_body.build_body(person, walk, "nm-01", {**spec.knobs, "leg_shape": shape})
            radii[shape] = [c[2] for c in parts.caps]
        assert radii[1.0][0] == pytest.approx(0.085 * scale * person.limb)
        assert radii[0.0][0] == pytest.approx(0.085 * scale)
        assert radii[0.5][0] == pytest.approx(0.085 * scale * (1 + 0.5 * (person.limb - 1)))
        assert person.limb != pytest.approx(1.0, abs=1e-3)
        # the arms (the capsules after the legs, feet and neck) keep the person's thickness
        assert radii[0.0][-3:] == radii[1.0][-3:]


def test_version_1_levels_render_the_same_bytes():
    """The knobs added for calibration (garment, coat_shape, outline, thicken, motion) are off in
    every level, so each level of generator version 1 renders what it rendered before them: the
    digests of a small spec's every sequence, recorded when the levels were fixed."""
    import hashlib

    digests = {}
    for level in ("easy", "standard", "hard"):
        spec = synth.SynthSpec(subjects=2, views=(0, 90), frames=(12, 16), seed=3, difficulty=level)
        h = hashlib.sha256()
        for subject in (1, 2):
            for condition in synth.CONDITIONS:
                for view in (0, 90):
                    h.update(synth.render_sequence(spec, subject, condition, view).tobytes())
        digests[level] = h.hexdigest()[:16]
    assert digests == {
        "easy": "964fe4dbf4ab684d",
        "standard": "7e31c6f14da23e0a",
        "hard": "17b9e30233d68d52",
    }
