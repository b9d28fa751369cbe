#!/usr/bin/env bash
# Coverage-guided fuzzing of everything that reads a template (JSON reader, template loader,
# interpolation engine, plugin decoding): `Fuzzing.fuzzOne` under libFuzzer.
#
#   fuzz/run.sh [SECONDS]     default 60; CI runs the default, an hour is `fuzz/run.sh 3600`
#
# Seeds are the conformance templates (../shared/conformance beside the repository, or
# $KILN_FUZZ_SEEDS), copied into a temporary corpus that is thrown away: the repository keeps
# no growing corpus. An input that crashes, hangs past the per-input timeout or runs out of
# memory is kept under fuzz/crashers/, where FuzzRegressionTests replays it on every
# `swift test`; commit it with the fix. Exits non-zero when libFuzzer found one.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
seeds=${KILN_FUZZ_SEEDS:-../shared/conformance}
[ -d "$seeds" ] || { echo "fuzz: no seed directory (../shared/conformance)" >&2; exit 1; }

KILN_FUZZ=1 swift build -c release --sanitize=fuzzer --scratch-path .build-fuzz --product kiln-fuzz
binary=$(KILN_FUZZ=1 swift build -c release --sanitize=fuzzer --scratch-path .build-fuzz --show-bin-path)/kiln-fuzz

work=$(mktemp -d /tmp/kiln-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/found" fuzz/crashers
find "$seeds" -type f -name '*.json' -exec cp {} "$work/corpus/" \;
# Kept inputs are seeds too (each must stay fixed), but those fuzz/pending.txt names.
for kept in fuzz/crashers/*; do
  name=$(basename "$kept")
  [ "$name" = README.md ] && continue
  grep -q "^$name:" fuzz/pending.txt && { echo "fuzz: not seeding $name (pending, see fuzz/pending.txt)"; continue; }
  cp "$kept" "$work/corpus/"
done

# -max_len: the seeds are up to ~20 KB; longer inputs add time, not paths.
# -timeout: an input that runs 10 s is a hang (libFuzzer reports it and stops).
# -rss_limit_mb: a runaway allocation is a finding, not the machine's memory.
set +e
"$binary" "$work/corpus" \
  -dict=fuzz/kiln.dict -max_len=24576 -timeout=10 -rss_limit_mb=2048 -max_total_time="$seconds" \
  -print_final_stats=1 -artifact_prefix="$work/found/" >"$work/log" 2>&1
status=$?
set -e
# The progress lines (NEW, REDUCE, pulse, new functions, the recommended dictionary) are
# many; the rest says what happened.
grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|NEW_FUNC|^"|ecommended dictionary' "$work/log" | tail -n 60 || true
grep -E '^#[0-9]+[[:space:]]+(pulse|DONE)' "$work/log" | tail -n 1 || true

found=0
for artifact in "$work"/found/*; do
  [ -e "$artifact" ] || continue
  name=$(basename "$artifact")
  cp "$artifact" "fuzz/crashers/$name"
  echo "fuzz: kept fuzz/crashers/$name" >&2
  found=1
done
if [ "$found" = 1 ] || [ "$status" != 0 ]; then
  echo "fuzz: libFuzzer found a problem (status $status): see above and fuzz/crashers/" >&2
  exit 1
fi
