#!/usr/bin/env bash
# Short controlled runs behind docs/training.md: the seed's recipe with one field changed at a
# time, both variants, same seed, 3 epochs, scored on the validation carve-out (never on test).
#   bash scripts/diagnose.sh [EPOCHS]  ->  runs/diagnose/<run>/<model>.json
#   python scripts/diagnosis_table.py runs/diagnose  ->  the markdown table
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-3}
run() {  # run NAME FLAGS...
  local name=$1; shift
  python train.py --recipe seed --epochs "$epochs" --quiet --out "runs/diagnose/$name" "$@"
}
run seed
run lr3e-4 --lr 3e-4
run lr1e-4 --lr 1e-4
run warmup2 --warmup-epochs 2
run batch16 --batch-size 16
run kaiming --init kaiming
run adamw-wd5e-2 --optimizer adamw --weight-decay 0.05
