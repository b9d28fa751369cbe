# shellcheck shell=bash
# Shared by the bench scripts (sourced from the repository root): a release build of kiln in
# $kiln, a scratch directory $work removed on exit, and $work/lifeline, a pipe whose writer
# lives until exit — the loopback servers the benches start read it as stdin and exit with it.
swift build -c release --product kiln >/dev/null
# shellcheck disable=SC2034 # used by the scripts that source this file
kiln=$(swift build -c release --show-bin-path)/kiln

work=$(mktemp -d)
mkfifo "$work/lifeline"
sleep 100000 >"$work/lifeline" &
sleeper=$!
bench_cleanup() {
  kill "$sleeper" 2>/dev/null || true
  rm -rf "$work"
}
trap bench_cleanup EXIT
