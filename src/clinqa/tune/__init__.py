"""Instruction tuning on a weighted MultiMedQA mixture: mixture sampling, example formatting, TRL/PEFT training."""
