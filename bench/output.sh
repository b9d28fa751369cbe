#!/usr/bin/env bash
# A provisioner's output relayed by Kiln against OpenSSH in the same run, on a local sshd
# (run on request, not in CI; issue #15 item 6):
#
#   bench/output.sh [LINES] [RUNS]      (defaults: 200000 lines, 5 runs; medians are reported)
#
# Times `ssh -i KEY -p PORT host 'seq LINES' >/dev/null` (OpenSSH) and `kiln _output-bench`
# running the same command: a release build relaying it the way a shell provisioner does in a
# build (the build's `outputSink`: every line split, masked against a secret, prefixed with
# "    bench: ", batched to standard output, here /dev/null). Both times include connecting.
# Prints the median wall time and CPU (user + system) of each and the ratio of the walls
# (target: kiln < 1.5x ssh); on a busy machine the walls wander with the sshd's share of the
# cores, the CPU much less. It checks first that kiln's output is whole. Then, for scale, whole
# builds of bench/output-template.json (null builder, a shell provisioner printing the lines):
# kiln RUNS times, Packer 1.6.6 once when installed (it takes minutes). Last, the peak RSS of
# each tool relaying 100 MB printed without a newline (target: flat, as for a short command).
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-200000}
runs=${2:-5}

# shellcheck source=bench/lib.sh
. bench/lib.sh

ssh-keygen -q -t ed25519 -N "" -f "$work/key"
cp "$work/key.pub" "$work/authorized_keys"
python3 Tests/Fixtures/sshd_server.py "$work/ready.json" "$work/authorized_keys" <"$work/lifeline" >"$work/sshd-launcher.log" 2>&1 &
for _ in $(seq 1 200); do [ -f "$work/ready.json" ] && break; sleep 0.1; done
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
port=$(field "$work/ready.json" port)
user=$(field "$work/ready.json" user)
ssh_opts=(-i "$work/key" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes)
kiln_opts=(--port "$port" --user "$user" --key "$work/key" --build bench --secret 'not-in-the-output')

# `timed CMD...`: "wall user+system" seconds of CMD and its children, output discarded.
timed() {
  local TIMEFORMAT='%R %U %S' t
  t=$({ time "$@" >/dev/null 2>&1; } 2>&1)
  awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' <<<"$t"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# Whole and in order, once, before timing: every line, prefixed.
"$kiln" _output-bench "${kiln_opts[@]}" "seq $lines" >"$work/kiln.out" 2>/dev/null
expected=$(seq "$lines" | sed 's/^/    bench: /' | sha256sum)
[ "$(sha256sum <"$work/kiln.out")" = "$expected" ] || { echo "kiln's relayed output is not seq $lines, prefixed" >&2; exit 1; }

ssh_runs=() kiln_runs=()
for _ in $(seq 1 "$runs"); do
  ssh_runs+=("$(timed ssh "${ssh_opts[@]}" "$user@127.0.0.1" "seq $lines")")
  kiln_runs+=("$(timed "$kiln" _output-bench "${kiln_opts[@]}" "seq $lines")")
done
# `column N RUN...`: the median of field N of the runs.
column() { local n=$1; shift; printf '%s\n' "$@" | awk -v n="$n" '{ print $n }' | median; }
ssh_s=$(column 1 "${ssh_runs[@]}")
kiln_s=$(column 1 "${kiln_runs[@]}")
echo "seq $lines over a local OpenSSH sshd, to /dev/null, median of $runs runs (connection included; wall, cpu):"
printf '  ssh                      %6.3f s  cpu %6.3f s   (runs: %s)\n' "$ssh_s" "$(column 2 "${ssh_runs[@]}")" "$(printf '%s, ' "${ssh_runs[@]}")"
printf '  kiln (prefixed, masked)  %6.3f s  cpu %6.3f s   (runs: %s)\n' "$kiln_s" "$(column 2 "${kiln_runs[@]}")" "$(printf '%s, ' "${kiln_runs[@]}")"
printf '  kiln/ssh wall ratio      %6.2f     (target < 1.5)\n' "$(echo "$kiln_s / $ssh_s" | bc -l)"

# Whole builds, for scale.
vars=(-var "ssh_port=$port" -var "ssh_username=$user" -var "ssh_key=$work/key" -var "lines=$lines")
build_runs=()
for _ in $(seq 1 "$runs"); do
  build_runs+=("$(timed "$kiln" build -color=false "${vars[@]}" bench/output-template.json)")
done
printf '  whole kiln build         %6.3f s  cpu %6.3f s   (null builder + shell provisioner; runs: %s)\n' \
  "$(column 1 "${build_runs[@]}")" "$(column 2 "${build_runs[@]}")" "$(printf '%s, ' "${build_runs[@]}")"
if command -v packer >/dev/null; then
  read -r packer_wall packer_cpu < <(CHECKPOINT_DISABLE=1 timed packer build -color=false "${vars[@]}" bench/output-template.json)
  printf '  whole packer 1.6.6 build %6.3f s  cpu %6.3f s   (one run)\n' "$packer_wall" "$packer_cpu"
fi

# Memory: 100 MB without a newline (and, for scale, a command printing nothing).
big="head -c 100000000 /dev/zero | tr '\\0' x"
python3 bench/measure.py "$work/kiln-short.json" -- "$kiln" _output-bench "${kiln_opts[@]}" "true" >/dev/null 2>&1
pieces=$(python3 bench/measure.py "$work/kiln-big.json" -- "$kiln" _output-bench "${kiln_opts[@]}" "$big" 2>/dev/null | wc -l)
python3 bench/measure.py "$work/ssh-big.json" -- ssh "${ssh_opts[@]}" "$user@127.0.0.1" "$big" 2>/dev/null | wc -c >/dev/null
echo "100 MB printed without a newline (kiln printed it as $pieces lines: a note, then pieces of at most 64 KiB):"
printf '  peak RSS: kiln %.1f MiB (a command printing nothing: %.1f MiB), ssh %.1f MiB\n' \
  "$(field "$work/kiln-big.json" peak_rss_mib)" "$(field "$work/kiln-short.json" peak_rss_mib)" "$(field "$work/ssh-big.json" peak_rss_mib)"
printf '  wall: kiln %.2f s, ssh %.2f s; cpu: kiln %.2f s, ssh %.2f s\n' "$(field "$work/kiln-big.json" wall)" "$(field "$work/ssh-big.json" wall)" \
  "$(field "$work/kiln-big.json" cpu)" "$(field "$work/ssh-big.json" cpu)"
