#!/usr/bin/env bash
# The checks of a session that is lent a GPU, in one script that ends within 8 minutes
# (docs/PERF.md says what to record from it):
#
#   bash bench/gpu_check.sh          # on a CUDA machine
#   bash bench/gpu_check.sh --cpu    # the CPU dry run at tiny sizes (also GPU_CHECK_DEVICE=cpu);
#                                    # tests/test_gpu_check.py runs it, so the script cannot rot
#
# Python: $PY when set, else .venv/bin/python when it exists, else python3 (the lent machine has
# no .venv). motmetrics is never needed. Logs and tables go to $OUT when it is set (the device
# machine's folder that comes back: at most 8 files, this writes 6), else to runs/gpu_check/;
# the synthetic data and the rows' runs to $GPU_CHECK_WORK (default: a new temporary folder).
# Every step runs under `timeout`, with the smaller of its own limit and what is left of the
# budget (GPU_CHECK_BUDGET_S, 450 s; the dry run: 5 times both); a step that fails or runs out of
# time is reported and the next one runs. Steps, in order (limits in seconds):
#   background  nice'd: the reproduction's synthetic dataset and crop caches (300, CPU work)
#   environment versions, the GPU, every project module imported without motmetrics (60)
#   cuda_tests  the CUDA tests (90)
#   train       our training step (batched, and per_image as the release) vs ResNet-50's plain
#               fwd+bwd, 224x224, bf16, channels_last (90)
#   embed       inference embedding crops/s in bf16 vs the plain forward (60)
#   loss        the loss alone, 8 images x 8 people, vectorised vs loops (60)
#   vit         the train step with the journal's ViT-S/16 backbone (timm) (60)
#   stan        the journal's transformer STAN pre-trained on synthetic matrices, 2 epochs of
#               2000 (90)
#   rows        the reproduction's two headline rows, GPU profile (270, after the background job)
#   compile     the train step again, eager and with torch.compile'd backbones (what is left, 240)
# The last thing printed is one summary block (also summary.txt); exit status 1 if a step failed.
set -uo pipefail
cd "$(dirname "$0")/.."

DEVICE=${GPU_CHECK_DEVICE:-cuda}
case "${1:-}" in
  --cpu) DEVICE=cpu ;;
  "") ;;
  *) echo "usage: bash bench/gpu_check.sh [--cpu]" >&2; exit 2 ;;
esac
if [[ $DEVICE != cuda && $DEVICE != cpu ]]; then
  echo "GPU_CHECK_DEVICE must be cuda or cpu, got '$DEVICE'" >&2; exit 2
fi
if [[ -z ${PY:-} ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
RUNS=${OUT:-runs/gpu_check}
WORK=${GPU_CHECK_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")}
# the limits are the GPU run's; the dry run's are 5 times longer, so that a busy test machine
# does not turn it into a timing test
if [[ $DEVICE == cuda ]]; then SCALE=1; BUDGET=${GPU_CHECK_BUDGET_S:-450}
else SCALE=5; BUDGET=${GPU_CHECK_BUDGET_S:-2250}; fi
LOGS=$WORK/logs
mkdir -p "$RUNS" "$LOGS" || exit 2
rm -f "$RUNS"/{gpu_check.log,summary.txt,rows_tables.md,rows_tables.json} "$RUNS"/*.train.log  # an earlier run's
export PYTHONUNBUFFERED=1

# The reproduction's two headline rows: the training table's release and paper rows.
ROWS=(--data "$WORK/data" --out "$WORK/reproduce" --group training
      --row "release" --row "paper: release + self-similarity")
if [[ $DEVICE == cuda ]]; then
  NET=(--device cuda --size 224)
  TRAIN=("${NET[@]}" --samples 8 --people 10 --steps 30 --amp bf16)
  EMBED=("${NET[@]}" --batch 256 --steps 20 --amp bf16)
  LOSS=(--device cuda --batch 1 --views 4 --frames 2 --people 8)
  COMPILE=(--compile)
  STAN=(--device cuda --train 2000 --val 200 --epochs 2 --batch-size 8)
  PROFILE=gpu
  NICE=(nice -n 10)  # the background job must not slow the timed GPU steps' CPU side
else  # tiny sizes: every command and code path of the GPU run, in seconds on a CPU
  NET=(--device cpu --backbone resnet10 --size 32)
  TRAIN=("${NET[@]}" --samples 1 --people 2 --steps 1)
  EMBED=("${NET[@]}" --batch 8 --steps 1)
  LOSS=(--device cpu --batch 1 --views 4 --frames 2 --people 8 --dim 64 --repeats 1)
  COMPILE=(--compile --compile-backend eager)
  STAN=(--device cpu --train 4 --val 2 --epochs 1 --views 2,2 --people 2,3)
  PROFILE=cpu
  NICE=()
  ROWS=(--tiny "${ROWS[@]}")
fi
ROWS=(--profile $PROFILE "${ROWS[@]}")

STATUS=()   # one summary line per step
FIGURES=()  # the result lines of the steps
FAILED=0

left() { echo $((BUDGET - SECONDS)); }

# figures FILE PATTERN: the lines of FILE that match PATTERN go to the summary (tables without paths)
figures() {
  [[ -n $2 && -f $1 ]] || return 0
  while IFS= read -r line; do FIGURES+=("  $line"); done < <(grep -E -- "$2" "$1" | sed -E 's/ `[^`]*` \|$//' |
    cut -c1-400)
}

# record NAME STATUS SECONDS PATTERN: a summary line, and the figures of the step's log
record() {
  STATUS+=("$(printf '  %-12s %-30s %4d s' "$1" "$2" "$3")")
  [[ $2 == ok ]] || FAILED=1
  figures "$LOGS/$1.log" "$4"
}

# step NAME LIMIT_S PATTERN COMMAND...: run under timeout, its output to the screen and to the log
step() {
  local name=$1 limit=$(($2 * SCALE)) pattern=$3; shift 3
  local budget_left; budget_left=$(left)
  (( limit > budget_left )) && limit=$budget_left
  if (( limit < 10 )); then record "$name" "skipped: budget spent" 0 ""; return; fi
  echo "=== $name (limit ${limit} s, $(left) s of the budget left): $(printf '%q ' "$@")"
  local t0=$SECONDS rc
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$LOGS/$name.log"
  rc=${PIPESTATUS[0]}
  local status=ok
  if (( rc == 124 || rc == 137 )); then status="TIMED OUT after ${limit} s"
  elif (( rc != 0 )); then status="FAILED (exit $rc)"; fi
  record "$name" "$status" $((SECONDS - t0)) "$pattern"
}

main() {
  echo "GPU check on $DEVICE: python $PY, logs in $RUNS, work folder $WORK, budget ${BUDGET} s"
  if [[ $DEVICE == cuda ]]; then
    timeout 20 nvidia-smi --query-gpu=name,memory.total,driver_version,power.limit,clocks.max.sm --format=csv \
      || echo "nvidia-smi did not answer"
  fi
  # CPU work first, in the background while the GPU is timed: dataset and crop caches of the rows
  local t_prep=$SECONDS
  timeout --kill-after=10 $((300 * SCALE)) "${NICE[@]}" "$PY" -m bench.gpu_rows --prepare "${ROWS[@]}" \
    > "$LOGS/prepare.log" 2>&1 &
  local prep=$!

  step environment 60 '^imports:' "$PY" -m bench.environment
  step cuda_tests 90 '(passed|failed|skipped|error)' "$PY" -m pytest -q -p no:cacheprovider tests/test_losses.py -k cuda
  step train 90 '(crops/step|^train step)' "$PY" -m bench.train_throughput "${TRAIN[@]}" --per-image
  step embed 60 '^embed:' "$PY" -m bench.embed_speed "${EMBED[@]}"
  step loss 60 '^(B=|loss fwd\+bwd:)' "$PY" -m bench.loss_speed "${LOSS[@]}"
  step vit 60 '(crops/step|^train step)' "$PY" -m bench.train_throughput "${TRAIN[@]}" --backbone vit_s16
  step stan 90 '(mean loss|^held-out)' "$PY" -m tools.pretrain_stan --variant transformer "${STAN[@]}" \
    --out "$WORK/stan_transformer.pt"

  wait "$prep"
  local rc=$?
  if (( rc != 0 )); then
    echo "=== prepare failed (exit $rc; the rows make the data themselves):"
    tail -20 "$LOGS/prepare.log"
  fi
  record prepare "$([[ $rc == 0 ]] && echo ok || echo "FAILED (exit $rc)")" $((SECONDS - t_prep)) '^prepared'
  step rows 270 "" "$PY" -m bench.gpu_rows "${ROWS[@]}"
  # what comes back besides this log and the summary: the tables (rewritten after every finished
  # row, so a stopped run keeps them) and the headline rows' training logs
  local tables=$WORK/reproduce/$PROFILE
  for f in tables.md tables.json; do [[ -f $tables/$f ]] && cp "$tables/$f" "$RUNS/rows_$f"; done
  for log in "$tables"/training/*/train/train.log; do  # one per row asked for
    [[ -f $log ]] && cp "$log" "$RUNS/$(basename "$(dirname "$(dirname "$log")")").train.log"
  done
  figures "$RUNS/rows_tables.md" '^(## |\| (release|paper: release \+ self-similarity) \|)'
  step compile 240 '^(train step|compiled train step)' "$PY" -m bench.train_throughput "${TRAIN[@]}" "${COMPILE[@]}"

  {
    echo "==== GPU check summary: $(grep -h -m1 '^device:' "$LOGS/environment.log" 2>/dev/null || echo "device: ?")"
    echo "python: $PY; $(grep -h -m1 '^packages:' "$LOGS/environment.log" 2>/dev/null | cut -d, -f1-3)"
    echo "steps (status, wall time):"
    printf '%s\n' "${STATUS[@]}"
    echo "figures (each ratio measured in one run; targets in docs/PERF.md):"
    (( ${#FIGURES[@]} )) && printf '%s\n' "${FIGURES[@]}"
    echo "  DDP: not measured: one GPU here (torchrun --nproc_per_node=2 needs two; the CPU test covers DDP's logic)"
    echo "files: $(cd "$RUNS" && ls | tr '\n' ' ')summary.txt"
    echo "total: $SECONDS s of ${BUDGET} s budget;" \
      "$([[ $FAILED == 0 ]] && echo "every step ok" || echo "SOME STEP FAILED")"
  } > "$WORK/summary.txt"
  cp "$WORK/summary.txt" "$RUNS/summary.txt"
  echo
  cat "$RUNS/summary.txt"
  return $FAILED
}

SECONDS=0
main 2>&1 | tee "$RUNS/gpu_check.log"
exit "${PIPESTATUS[0]}"
