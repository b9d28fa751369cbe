#!/usr/bin/env bash
# Kiln's SSH communicator against OpenSSH in the same run, on a local sshd (run on request,
# not in CI):
#
#   bench/ssh.sh [SIZE_MB] [RUNS]      (defaults: 256 MB, 3 runs; medians are reported)
#
# Uploads one file with kiln (libssh2 SFTP), OpenSSH `scp` (SFTP protocol, as of 9.x),
# `scp -O` (the legacy SCP protocol Packer uses) and `sftp`, and times 100 short commands:
# kiln on one session, and OpenSSH with one connection per command and with a ControlMaster.
# Target: kiln at least 0.9x OpenSSH's upload throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-256}
runs=${2:-3}

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_leftovers+=(/tmp/kiln-bench-upload)
rm -f /tmp/kiln-bench-upload

ssh-keygen -q -t ed25519 -N "" -f "$work/key"
cp "$work/key.pub" "$work/authorized_keys"
python3 Tests/Fixtures/sshd_server.py "$work/ready.json" "$work/authorized_keys" <"$work/lifeline" >"$work/sshd-launcher.log" 2>&1 &
for _ in $(seq 1 200); do [ -f "$work/ready.json" ] && break; sleep 0.1; done
port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['port'])" "$work/ready.json")
user=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['user'])" "$work/ready.json")
head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$work/payload"
ssh_opts=(-i "$work/key" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes)
scp_opts=(-i "$work/key" -P "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes)

timed() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A results
for _ in $(seq 1 "$runs"); do
  results[kiln]+="$("$kiln" _ssh-bench --port "$port" --user "$user" --key "$work/key" --upload "$work/payload" --remote /tmp/kiln-bench-upload |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["upload_seconds"])') "
  results[scp]+="$(timed scp "${scp_opts[@]}" "$work/payload" "$user@127.0.0.1:/tmp/kiln-bench-upload") "
  results[scp_legacy]+="$(timed scp -O "${scp_opts[@]}" "$work/payload" "$user@127.0.0.1:/tmp/kiln-bench-upload") "
  printf 'put %s /tmp/kiln-bench-upload\n' "$work/payload" >"$work/batch"
  results[sftp]+="$(timed sftp -b "$work/batch" "${scp_opts[@]}" "$user@127.0.0.1") "
done

echo "upload of ${size_mb} MiB to a local OpenSSH sshd, median of $runs runs:"
kiln_s=$(tr ' ' '\n' <<<"${results[kiln]}" | grep . | median)
for tool in kiln scp scp_legacy sftp; do
  s=$(tr ' ' '\n' <<<"${results[$tool]}" | grep . | median)
  printf '  %-11s %7.3f s  %7.1f MiB/s  kiln/this throughput ratio %.2f\n' "$tool" "$s" "$(echo "$size_mb / $s" | bc -l)" "$(echo "$s / $kiln_s" | bc -l)"
done

kiln_cmds=$("$kiln" _ssh-bench --port "$port" --user "$user" --key "$work/key" --commands 100 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["commands_seconds"])')
ssh_cmds=$(timed bash -c "for i in \$(seq 1 100); do ssh ${ssh_opts[*]} $user@127.0.0.1 true; done")
ssh -fN -o ControlMaster=yes -o ControlPath="$work/cm" "${ssh_opts[@]}" "$user@127.0.0.1"
cm_cmds=$(timed bash -c "for i in \$(seq 1 100); do ssh -o ControlPath=$work/cm ${ssh_opts[*]} $user@127.0.0.1 true; done")
ssh -o ControlPath="$work/cm" -O exit "$user@127.0.0.1" 2>/dev/null || true
echo "100 short commands:"
printf '  kiln (one session)          %6.3f s  (%.1f ms each)\n' "$kiln_cmds" "$(echo "$kiln_cmds * 10" | bc -l)"
printf '  ssh (a connection each)     %6.3f s  (%.1f ms each)\n' "$ssh_cmds" "$(echo "$ssh_cmds * 10" | bc -l)"
printf '  ssh (ControlMaster)         %6.3f s  (%.1f ms each)\n' "$cm_cmds" "$(echo "$cm_cmds * 10" | bc -l)"
