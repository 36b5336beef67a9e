"""The GEI-NN table of `gaitbench.data.synth`'s docstring: rank-1 of a nearest neighbour on gait
energy images for each difficulty level of a generator version, across views (the CASIA-B
protocol) and within the probe's own view.

    python3 docs/synth_levels.py [--levels easy,standard,hard] [--workers 2]

Renders the 50 test subjects (075..124) of seed 0, 11 views, 30 frames per sequence, in memory
(`synth.render_geis`, once per level, scored with both galleries by `synth.gei_nn`); about
two minutes per level on one core.
"""

from __future__ import annotations

import argparse
import sys
import time

from gaitbench.data import synth
from gaitbench.errors import GaitbenchError


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default="easy,standard,hard")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    try:  # every level checked before the first minute of rendering
        specs = [synth.SynthSpec(frames=(30, 30), difficulty=lv) for lv in args.levels.split(",")]
    except GaitbenchError as exc:
        sys.exit(f"error: {exc}")
    print(
        f"generator version {synth.GENERATOR_VERSION}, seed 0, subjects 075..124, 11 views, 30 frames"
    )
    print(
        "difficulty  gallery views            NM     BG     CL    NM per probe view 000 / 090 / 180"
    )
    for spec in specs:
        level = spec.difficulty
        start = time.perf_counter()
        geis = synth.render_geis(spec, workers=args.workers)  # rendered once, scored twice
        for same, name in ((False, "other views (protocol)"), (True, "same view only")):
            r = synth.gei_nn(geis, same_view=same)
            views = r["NM"]["views"]
            print(
                f"{level:<11} {name:<24} {r['NM']['mean']:<6.1f} {r['BG']['mean']:<6.1f} "
                f"{r['CL']['mean']:<5.1f} {views['000']:.1f} / {views['090']:.1f} / "
                f"{views['180']:.1f}   ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )

if __name__ == "__main__":
    main()
