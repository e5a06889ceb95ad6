"""Two-process DistributedDataParallel run on CPU (gloo) through torchrun, with the real tiny models
(Pix2Seq-D and Video K-Net)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.stand_in import write_kitti_folder
from vps.train.checkpoint import load_checkpoint

SMALL = ["model.image_size=[32,64]", "train.batch_size=1", "train.max_steps=3", "train.warmup_steps=1",
         "train.eval_every=0", "train.log_every=1", "train.ckpt_every=100", "data.augment=false"]


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["tiny", "knet_tiny"])
def test_torchrun_two_processes_gloo(tmp_path: Path, repo_root: Path, preset: str) -> None:
    root = write_kitti_folder(tmp_path / "kitti", frames=4)
    out = tmp_path / "run"
    sets = [a for s in SMALL + ["data.dataset=kitti_step", f"data.root={root}"] for a in ("--set", s)]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "vps.train.cli", "--config", str(repo_root / "configs" / f"{preset}.yaml"),
           "--out", str(out), "--device", "cpu", "--no-progress", *sets]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(repo_root)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=repo_root, start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun and both workers
        log, _ = proc.communicate()
        pytest.fail(f"torchrun timed out:\n{log[-3000:]}")
    assert proc.returncode == 0, log[-3000:]
    for r in (0, 1):
        assert f"[rank {r}/2] device cpu" in log, log[-3000:]
    # ranks share one pipe: their lines can interleave, so match the number itself, not "up to a space"
    sums = re.findall(r"\[rank \d/2\] finished at step 3, weight checksum ([-+0-9.eE]+\d)", log)
    assert len(sums) == 2 and sums[0] == sums[1], log[-3000:]  # replicas in sync
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt.step == 3 and ckpt.sampler["world_size"] == 2
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".pt") == ["last.pt"]
    assert len((out / "log.csv").read_text().strip().splitlines()) == 4  # header + steps 1..3 (rank 0 only)
