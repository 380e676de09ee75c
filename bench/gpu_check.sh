#!/usr/bin/env bash
# The CUDA checks in one script, for a session that is lent a GPU (see docs/PERF.md):
# the CUDA-only tests, the training-step throughput at the paper's size (bf16 and fp16), the loss
# speed on the GPU, a short bf16 training run on synthetic data and then the reproduction's GPU rows
# (tools/reproduce.py --profile gpu: ResNet-50, 224x224; stopped after GPU_ROWS_S seconds, 480 by
# default). Prints everything to stdout; the tables land in runs/reproduce/gpu/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
$PY -m pytest -q tests/test_losses.py -k cuda
$PY -m bench.train_throughput --device cuda --size 224 --samples 8 --steps 30 --amp bf16
$PY -m bench.train_throughput --device cuda --size 224 --samples 8 --steps 30 --amp fp16
$PY -m bench.loss_speed --device cuda
tmp=$(mktemp -d)
$PY -m datasets.synthetic --out "$tmp/data" --scenes 2 --views 4 --frames 120 --seed 0 --workers 4 > /dev/null
$PY train.py --data.root="$tmp/data" --train.out_dir="$tmp/run" --model.weights=none --train.max_steps=60 \
    --train.batch_size=8 --train.lr=1e-4 --train.val_interval=30 --train.log_interval=10 --data.num_workers=4
$PY inference.py --checkpoint "$tmp/run/best.pt" --out "$tmp/test" --data.root="$tmp/data"
$PY eval.py --gt "$tmp/data" --res "$tmp/test"
timeout "${GPU_ROWS_S:-480}" $PY -m tools.reproduce --profile gpu || echo "reproduce --profile gpu stopped (status $?)"
cat runs/reproduce/gpu/tables.md 2>/dev/null || true
