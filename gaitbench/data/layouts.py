"""Readers for the raw folder layouts the datasets ship in.

Each reader lists a dataset's sequences as `SequenceSource` (subject, condition, view, frame files
sorted by frame number) without reading any pixels; `gaitbench.data.prep` does the reading.

- ``casia-b``: ``RAW/<id>/<type>/<view>/*.png`` (``001/nm-01/090/001-nm-01-090-017.png``);
  subject = id, condition = type, view = view.
- ``oumvlp``: ``RAW/Silhouette_<view>-<seq>/<id>/*.png`` (``Silhouette_000-00/00001/0001.png``);
  subject = id, condition = seq (``00``/``01``), view = view.
- ``grew``: ``RAW/train/<id>/<seq>/*.png``, ``RAW/test/gallery/<id>/<seq>/*.png`` and
  ``RAW/test/probe/<seq>/*.png`` (GEIs ``*_gei.png`` and pose files are skipped); see below.
- ``gait3d``: ``RAW/2D_Silhouettes/<id>/<camid_videoid>/<seq>/*.png`` (RAW may also be the
  ``2D_Silhouettes`` folder itself); subject = id, condition = camid_videoid, view = seq.
- ``opengait``: an already aligned OpenGait tree ``RAW/<id>/<type>/<view>/<view>.pkl``.

GREW follows OpenGait's rearrangement so ids and conditions match its protocol: a training
subject ``00001`` becomes ``00001train`` with condition ``00``; a test gallery subject keeps its id
and its sequences become conditions ``01`` and ``02`` (sorted order); every probe sequence becomes
subject ``probe``, condition ``03``. The view is the sequence folder's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from gaitbench.errors import GaitbenchError

LAYOUTS = ("casia-b", "oumvlp", "grew", "gait3d", "opengait")

EXPECTED = {
    "casia-b": "RAW/<id>/<type>/<view>/*.png, e.g. 001/nm-01/090/001-nm-01-090-017.png",
    "oumvlp": "RAW/Silhouette_<view>-<seq>/<id>/*.png, e.g. Silhouette_000-00/00001/0001.png",
    "grew": "RAW/train/<id>/<seq>/*.png and RAW/test/gallery|probe/...",
    "gait3d": "RAW/2D_Silhouettes/<id>/<camid_videoid>/<seq>/*.png",
    "opengait": "RAW/<id>/<type>/<view>/<view>.pkl",
}

_DIGITS = re.compile(r"(\d+)")
_OUMVLP_DIR = re.compile(r"^Silhouette_(\d{3})-(\d{2})$")


@dataclass
class SequenceSource:
    """One raw sequence: its ids and its frame files, in frame order."""

    subject: str
    condition: str
    view: str
    files: list[Path] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.subject}__{self.condition}__{self.view}"


def frame_order(path: Path) -> tuple[int, str]:
    """Sort key: the last number in the file name, then the name (``frame-9`` < ``frame-10``)."""
    numbers = _DIGITS.findall(path.stem)
    return (int(numbers[-1]) if numbers else -1, path.name)


def _frames(folder: Path, suffix: str = ".png") -> list[Path]:
    files = [
        p
        for p in folder.iterdir()
        if p.suffix.lower() == suffix and not p.name.lower().endswith("gei.png") and p.is_file()
    ]
    return sorted(files, key=frame_order)


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir())


def _three_level(raw: Path, suffix: str) -> list[SequenceSource]:
    """``RAW/<subject>/<condition>/<view>/*<suffix>``."""
    out = []
    for subject in _subdirs(raw):
        for cond in _subdirs(subject):
            for view in _subdirs(cond):
                files = _frames(view, suffix)
                if files:
                    out.append(SequenceSource(subject.name, cond.name, view.name, files))
    return out


def read_casia_b(raw: Path) -> list[SequenceSource]:
    return _three_level(raw, ".png")


def read_opengait(raw: Path) -> list[SequenceSource]:
    out = []
    for seq in _three_level(raw, ".pkl"):
        if len(seq.files) > 1:
            # Several modalities in one folder: the silhouettes are `<view>.pkl`.
            named = [f for f in seq.files if f.stem == seq.view]
            if not named:
                folder = seq.files[0].parent
                raise GaitbenchError(
                    f"{folder} holds {len(seq.files)} .pkl files and none is {seq.view}.pkl: "
                    "keep only the silhouette pickle there"
                )
            seq.files = named
        out.append(seq)
    return out


def read_oumvlp(raw: Path) -> list[SequenceSource]:
    out = []
    for top in _subdirs(raw):
        match = _OUMVLP_DIR.match(top.name)
        if not match:
            continue
        view, seq = match.groups()
        for subject in _subdirs(top):
            files = _frames(subject)
            if files:
                out.append(SequenceSource(subject.name, seq, view, files))
    out.sort(key=lambda s: (s.subject, s.condition, s.view))
    return out


def read_grew(raw: Path) -> list[SequenceSource]:
    out = []
    train = raw / "train"
    if train.is_dir():
        for subject in _subdirs(train):
            for seq in _subdirs(subject):
                files = _frames(seq)
                if files:
                    out.append(SequenceSource(f"{subject.name}train", "00", seq.name, files))
    gallery = raw / "test" / "gallery"
    if gallery.is_dir():
        for subject in _subdirs(gallery):
            seqs = [s for s in _subdirs(subject) if _frames(s)]
            for i, seq in enumerate(seqs):
                out.append(SequenceSource(subject.name, f"{i + 1:02d}", seq.name, _frames(seq)))
    probe = raw / "test" / "probe"
    if probe.is_dir():
        for seq in _subdirs(probe):
            files = _frames(seq)
            if files:
                out.append(SequenceSource("probe", "03", seq.name, files))
    return out


def read_gait3d(raw: Path) -> list[SequenceSource]:
    root = raw / "2D_Silhouettes" if (raw / "2D_Silhouettes").is_dir() else raw
    return _three_level(root, ".png")


READERS = {
    "casia-b": read_casia_b,
    "oumvlp": read_oumvlp,
    "grew": read_grew,
    "gait3d": read_gait3d,
    "opengait": read_opengait,
}


def guess_layout(raw: Path) -> str | None:
    """A cheap look at the top of ``raw``: which layout it seems to be, if any."""
    names = {p.name for p in _subdirs(raw)}
    if any(_OUMVLP_DIR.match(n) for n in names):
        return "oumvlp"
    if "2D_Silhouettes" in names:
        return "gait3d"
    if "train" in names or "test" in names:
        return "grew"
    for sub in sorted(raw.glob("*/*/*"))[:50]:
        if sub.is_dir():
            if next(sub.glob("*.pkl"), None):
                return "opengait"
            if next(sub.glob("*.png"), None):
                return "casia-b"
    return None


def discover(layout: str, raw: str | Path) -> list[SequenceSource]:
    """All sequences of ``raw`` read as ``layout``; a clear error if the folder doesn't fit."""
    if layout not in READERS:
        raise GaitbenchError(f"unknown layout {layout!r}: choose one of {', '.join(LAYOUTS)}")
    raw = Path(raw)
    if not raw.exists():
        raise GaitbenchError(
            f"raw folder {raw} not found: put the {layout} silhouettes there or pass RAW"
        )
    if not raw.is_dir():
        raise GaitbenchError(f"raw path {raw} is not a folder: pass the dataset's top folder")
    if next(raw.iterdir(), None) is None:
        raise GaitbenchError(f"raw folder {raw} is empty: unpack the {layout} silhouettes into it")
    sources = READERS[layout](raw)
    if not sources:
        guess = guess_layout(raw)
        hint = ""
        if guess == "opengait":
            hint = "; it looks like an OpenGait pkl tree: pass --layout opengait"
        elif guess and guess != layout:
            hint = f"; it looks like a {guess} tree: run `gaitbench prep {guess} {raw}`"
        raise GaitbenchError(
            f"raw folder {raw} matches no {layout} layout (expected {EXPECTED[layout]}){hint}"
        )
    return sources
