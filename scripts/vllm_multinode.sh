#!/usr/bin/env bash
# Scale clinqa out over GPUs and nodes with vLLM. Not run in CI (no GPU there); see README "Scale-out".
#
# One node, several GPUs: the offline engine in-process, tensor parallel over the node's GPUs:
#   clinqa bench --dataset medqa --strategy er --model "vllm:meta-llama/Llama-3.1-8B-Instruct?tp=4"
#
# Several nodes: a Ray cluster and one vLLM OpenAI-compatible server spanning it, which clinqa drives over HTTP with
# many questions in flight (--concurrency). Usage:
#   on the head node:    bash scripts/vllm_multinode.sh head   MODEL TP PP
#   on every worker:     bash scripts/vllm_multinode.sh worker HEAD_IP
#   then, anywhere:      clinqa bench --model "openai:MODEL@http://HEAD_IP:8000/v1" --strategy er --concurrency 64
# Data parallelism instead of one big model: start `vllm serve MODEL --data-parallel-size N` on each node (or one
# server per GPU behind a load balancer) and point clinqa at it the same way.
set -euo pipefail
role=${1:?head or worker}
case "$role" in
  head)
    model=${2:?model}; tp=${3:-8}; pp=${4:-1}
    ray start --head --port 6379
    exec vllm serve "$model" --tensor-parallel-size "$tp" --pipeline-parallel-size "$pp" \
      --distributed-executor-backend ray --enable-prefix-caching --host 0.0.0.0 --port 8000 ;;
  worker)
    head=${2:?head ip}
    exec ray start --address "$head:6379" --block ;;
  *) echo "usage: $0 head MODEL [TP] [PP] | worker HEAD_IP" >&2; exit 2 ;;
esac
