"""Convert the committed schema-1 results files of this folder to gaitbench-results/2, in place.

Their runs no longer exist, so nothing is re-evaluated. What schema 1 recorded is kept as it
was; what it lacked is filled only where the folder's own run.sh and times.tsv say it, and is
null otherwise:

* data: the store's file name, kind (synthetic) and generator parameters are the `gaitbench synth`
  command in run.sh; the test split's probe / gallery counts are the file's own n_probe /
  n_gallery; the fingerprint is null, because these stores were rendered before stores carried
  one and were not kept (re-rendering them today need not give the same frames: the renderer
  had no version then);
* training: iterations is the file's own; P x K x frames, device (cpu) and seed (the recipe's
  default, 0: run.sh passes no --seed) are run.sh's; precision is fp32 (gaitbench autocasts on
  CUDA only); wall_seconds is times.tsv's figure for the train command(s), which includes
  opening the store and building the model; the recipe hash and training fingerprint are null;
* per_probe is null: the embeddings are gone, so these files cannot be used by
  `gaitbench compare`;
* checkpoint / embeddings: the absolute paths of the machine they ran on are reduced to file
  names;
* notes: says all of the above in the file itself.

Usage (from the repository root): python3 results/convert_schema1.py
"""

from __future__ import annotations

import json
from pathlib import Path

from gaitbench.evaluation.results import upgrade_v1, write_results

HERE = Path(__file__).resolve().parent

SYNTH_DEFAULT = {
    "generator": "gaitbench synth",
    "version": None,
    "subjects": 124,
    "views": list(range(0, 181, 18)),
    "frames": [60, 100],
    "size": 64,
    "difficulty": "standard",
    "seed": 0,
}

# folder -> (store file, generator, P, K, frames, {results file: (run name, [times.tsv keys])})
RUNS = {
    "synth-casia-b": (
        "synth-casia-b.h5",
        SYNTH_DEFAULT,
        (8, 4, 30),
        {
            f"{m}.json": (m, [f"train {m}"])
            for m in ("hstl-tiny", "gaitset-tiny", "gaitpart-tiny", "gaitgl-tiny", "gaitbase-tiny")
        }
        | {
            "selfgait-tiny.json": (
                "selfgait-tiny",
                ["pretrain selfgait-tiny", "finetune selfgait-tiny"],
            ),
            "control/selfgait-tiny-scratch.json": (
                "selfgait-tiny-scratch",
                ["finetune selfgait-tiny-scratch"],
            ),
        },
    ),
}


def times(folder: Path) -> dict[str, float]:
    out = {}
    for line in (folder / "times.tsv").read_text().splitlines():
        name, _, seconds = line.rpartition("\t")
        if name:
            out[name] = float(seconds)
    return out


def convert(folder: str, spec) -> list[Path]:
    store, generator, (p, k, frames), files = spec
    wall = times(HERE / folder)
    written = []
    for name, (run, time_keys) in files.items():
        path = HERE / folder / name
        old = json.loads(path.read_text())
        if old.get("schema") != "gaitbench-results/1":
            continue
        views = len(generator["views"])
        new = upgrade_v1(
            old,
            run=run,
            notes=[
                "data and training reconstructed from this folder's run.sh and times.tsv "
                "(see results/convert_schema1.py); fingerprint unknown: the store predates "
                "fingerprints and was not kept; wall_seconds is the train command's wall time",
            ],
        )
        n_probe = sum(old["n_probe"].values())
        new["data"] = {
            "file": store,
            "fingerprint": None,
            "fingerprint_source": None,
            "kind": "synthetic",
            "dataset": old["dataset"],
            "generator": generator,
            "test": {
                # gallery nm-01..04 in every view: 4 x views sequences per test subject
                "subjects": old["n_gallery"] // (4 * views),
                "sequences": None,
                "probe": n_probe,
                "gallery": old["n_gallery"],
            },
        }
        new["training"] = {
            "seed": 0,
            "iterations": old.get("iteration"),
            "planned_iterations": old.get("iteration"),
            "batch": {"p": p, "k": k, "frames": frames},
            "precision": "fp32",
            "device": "cpu",
            "wall_seconds": sum(wall[t] for t in time_keys)
            if all(t in wall for t in time_keys)
            else None,
            "recipe_hash": None,
            "data_fingerprint": None,
        }
        written.append(write_results(path, new))
    return written


if __name__ == "__main__":
    for folder, spec in RUNS.items():
        for path in convert(folder, spec):
            print(f"converted {path.relative_to(HERE.parent)}")
