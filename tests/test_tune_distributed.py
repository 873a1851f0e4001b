"""`clinqa tune` under `accelerate launch` with two CPU processes (DDP over gloo) on the tiny random model: both ranks
train, their gradients are synchronised (identical weights afterwards), each step's batch spans both processes, and
the model is saved once, by rank 0."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port

pytest.importorskip("trl")
pytest.importorskip("accelerate")


def test_two_process_ddp_on_cpu(tmp_path, tiny_model_dir, data_dir):
    out = tmp_path / "ddp"
    batch, max_length = 2, 96
    # the shipped config (explicit, so that a machine's own accelerate default config plays no part): two processes
    # through torchrun on the CPU, which accelerate runs as MULTI_CPU over gloo
    config = Path(__file__).resolve().parents[1] / "configs" / "accelerate" / "cpu_ddp.yaml"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config),
           "--main_process_port", str(free_port()), "-m", "clinqa.tune",
           "--model", str(tiny_model_dir), "--output", str(out), "--max-steps", "3", "--total", "48",
           "--batch-size", str(batch), "--max-length", str(max_length), "--save-steps", "3", "--logging-steps", "1",
           "--data-dir", str(data_dir), "--no-packing"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "CUDA_VISIBLE_DEVICES": ""}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=170, env=env, cwd=tmp_path)
    log = r.stdout + r.stderr
    assert r.returncode == 0, log[-4000:]

    lines = re.findall(r"process (\d) of (\d) \((\w+), backend (\w+)\): effective batch .* = (\d+), (\d+) steps, "
                       r"trainable weights checksum ([\d.]+)", log)
    assert sorted(int(x[0]) for x in lines) == [0, 1], log[-4000:]
    assert {x[1:6] for x in lines} == {("2", "MULTI_CPU", "gloo", str(2 * batch), "3")}
    assert lines[0][6] == lines[1][6], "DDP keeps the replicas identical: the gradients were all-reduced"

    assert log.count("saved the tuned model to") == 1, "only rank 0 writes the model"
    assert (out / "model.safetensors").is_file() and (out / "mixture.json").is_file()
    state = json.loads((out / "checkpoints" / "checkpoint-3" / "trainer_state.json").read_text())
    first = next(h for h in state["log_history"] if "num_tokens" in h)
    # tokens are counted over all processes: more than one process's batch of at most max_length tokens each
    assert batch * max_length < first["num_tokens"] <= 2 * batch * max_length

    import torch
    from transformers import AutoModelForCausalLM
    tuned = AutoModelForCausalLM.from_pretrained(out).state_dict()
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).state_dict()
    assert tuned.keys() == base.keys() and any(not torch.allclose(tuned[k], base[k]) for k in base)
