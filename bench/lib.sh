# shellcheck shell=bash
# Shared by the bench scripts (sourced from the repository root): a release build of kiln in
# $kiln, a scratch directory $work removed on exit, and $work/lifeline, a pipe whose writer
# lives until exit — the loopback servers the benches start read it as stdin and exit with it
# (and remove what they made, such as sshd_server.py's /tmp/kiln-sshd-*). A script adds
# paths outside $work that it makes (files its builds leave on this machine) to
# bench_leftovers: they are removed before it starts and on exit. BENCH_KEEP=DIR copies $work
# (logs, request and hold timings) to DIR before it is removed, to look at a run afterwards.
swift build -c release --product kiln >/dev/null
# shellcheck disable=SC2034 # used by the scripts that source this file
kiln=$(swift build -c release --show-bin-path)/kiln

bench_leftovers=()
work=$(mktemp -d)
mkfifo "$work/lifeline"
sleep 100000 >"$work/lifeline" &
sleeper=$!
bench_cleanup() {
  kill "$sleeper" 2>/dev/null || true
  # The servers exit once the lifeline closes; wait (bounded) so they can clean up first.
  local _
  for _ in $(seq 1 50); do
    [ -z "$(jobs -pr)" ] && break
    sleep 0.1
  done
  if [ -n "${BENCH_KEEP:-}" ]; then
    mkdir -p "$BENCH_KEEP"
    cp -r "$work"/. "$BENCH_KEEP"/ 2>/dev/null || true
    rm -f "$BENCH_KEEP/lifeline"
  fi
  rm -rf "$work" "${bench_leftovers[@]}"
}
trap bench_cleanup EXIT
