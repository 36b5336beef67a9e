"""benchmarks/gpu.sh, the prepared GPU run: its --dry-run runs the same code on the CPU with tiny
models and sizes, and every section it promises prints a measured figure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_gpu_script_dry_run_prints_every_section():
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    res = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu.sh"), "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    for model in ("hstl-tiny", "gaitset-tiny", "gaitpart-tiny", "gaitgl-tiny", "gaitbase-tiny"):
        for variant in ("bf16", "bf16 + channels-last"):
            assert re.search(rf"{model}\s+{re.escape(variant)}\s+[\d.]+ it/s", out), (
                model,
                variant,
            )
        for variant in ("fp16 AMP + scaler", "bf16 + compile"):  # the GPU-only variants
            assert re.search(rf"{model}\s+{re.escape(variant)}\s+skipped in the dry run", out)
        assert re.search(rf"{model}\s+projected: 10 iterations at [\d.]+ it/s", out), model
    assert re.search(r"waiting for data [\d.]+ % of the wall time", out)
    assert re.search(r"gaitbench: [\d.]+ s .* peak RSS", out) and "gaitbench / floor" in out
    assert not (REPO / "results" / "gpu").exists() or not any(
        p.name.endswith(".tmp") for p in (REPO / "results" / "gpu").iterdir()
    )
