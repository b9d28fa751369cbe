#!/usr/bin/env bash
# Whole amazon-ebs builds, Kiln against Packer 1.6.6 (Debian `packer`), in the same run,
# against the same local moto (signatures checked) and OpenSSH sshd (run on request, not in CI):
#
#   bench/build.sh [RUNS] [PAYLOAD_MB]      (defaults: 3 runs each, 50 MiB uploaded)
#
# Templates, each built RUNS times by each tool after one warm-up build:
# - bench/build-template.json, EKS-shaped: source AMI filter, temporary key pair and security
#   group, shell + PAYLOAD_MB file upload, AMI with tags, manifest;
# - bench/book-template.json, the book's: source AMI filter, one shell script
#   (bench/book-install.sh), ami_regions with a second region.
# Prints per template and tool the median wall time, peak memory of all its processes (RSS and
# PSS, sampled by bench/measure.py), and, per action, "EC2 calls: kiln N, packer M" from moto's
# request log (moto's state changes are instant, so the calls are the build's own, not polls);
# then the ratios. Targets (issues #6, #13): wall < 0.4x Packer's, no more EC2 calls, memory
# < 1/3 of Packer's.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
payload_mb=${2:-50}
command -v packer >/dev/null || { echo "bench/build.sh needs Packer 1.6.6 (apt-get install packer)" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. bench/lib.sh
# What the template's provisioners make on the "instance" (this machine), if a build stops half-way.
bench_leftovers+=(/tmp/kiln-bench-build)
rm -rf /tmp/kiln-bench-build

# moto and sshd live as long as the lifeline's writer.
python3 Tests/Fixtures/moto_server.py "$work/moto.json" "$work/requests.tsv" --authorized-keys="$work/authorized_keys" \
  <"$work/lifeline" >"$work/moto.log" 2>&1 &
for _ in $(seq 1 600); do [ -f "$work/moto.json" ] && break; sleep 0.1; done
python3 Tests/Fixtures/sshd_server.py "$work/sshd.json" "$work/authorized_keys" <"$work/lifeline" >"$work/sshd.log" 2>&1 &
for _ in $(seq 1 200); do [ -f "$work/sshd.json" ] && break; sleep 0.1; done
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
moto_url="http://127.0.0.1:$(field "$work/moto.json" port)"
head -c "$((payload_mb * 1024 * 1024))" /dev/urandom >"$work/payload"

# Only loopback: no proxies, no metadata service, no telemetry, no shared AWS files.
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
AWS_ACCESS_KEY_ID=$(field "$work/moto.json" access_key_id)
AWS_SECRET_ACCESS_KEY=$(field "$work/moto.json" secret_access_key)
export AWS_EC2_METADATA_DISABLED=true CHECKPOINT_DISABLE=1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export NO_PROXY='*'
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY || true
vars=(-var "moto_url=$moto_url" -var "ssh_port=$(field "$work/sshd.json" port)" -var "ssh_username=$(field "$work/sshd.json" user)")

# One build of bench/<template>-template.json: its measurements in $work/<template>-<tool>-<n>.json,
# its API calls in $work/<template>-<tool>-<n>.calls.
build() {
  local template=$1 tool=$2 n=$3 start out extra=()
  out="$work/$template-$tool-$n"
  start=$(wc -l <"$work/requests.tsv")
  [ "$template" = build ] && extra=(-var "payload=$work/payload" -var "manifest=$work/manifest.json")
  local cmd=("$kiln" build -color=false "${vars[@]}" "${extra[@]}" "bench/$template-template.json")
  [ "$tool" = packer ] && cmd=(packer build -color=false "${vars[@]}" "${extra[@]}" "bench/$template-template.json")
  if ! python3 bench/measure.py "$out.json" -- "${cmd[@]}" >"$out.log" 2>&1; then :; fi
  if [ "$(field "$out.json" status)" != 0 ]; then
    echo "$tool build of bench/$template-template.json failed:" >&2
    tail -20 "$out.log" >&2
    exit 1
  fi
  tail -n +"$((start + 1))" "$work/requests.tsv" | awk -F'\t' -v key="$AWS_ACCESS_KEY_ID" '$2 == key { print $3 }' >"$out.calls"
}

for template in build book; do
  build "$template" kiln warmup
  build "$template" packer warmup
  for n in $(seq 1 "$runs"); do
    build "$template" kiln "$n"
    build "$template" packer "$n"
  done
done

python3 - "$work" "$runs" <<'PY'
import collections, json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
for template, about in (("build", "EKS-shaped"), ("book", "the book's: source AMI filter, one shell script, ami_regions with a second region")):
    print(f"== bench/{template}-template.json ({about})")
    summary = {}
    for tool in ("kiln", "packer"):
        data = [json.load(open(f"{work}/{template}-{tool}-{n}.json")) for n in range(1, runs + 1)]
        calls = collections.Counter(open(f"{work}/{template}-{tool}-1.calls").read().split())
        summary[tool] = {
            "wall": statistics.median(d["wall"] for d in data),
            "rss": max(d["peak_rss_mib"] for d in data),
            "pss": max(d["peak_pss_mib"] for d in data),
            "procs": max(d["max_processes"] for d in data),
            "calls": calls,
        }
        s = summary[tool]
        print(f"{tool:6}  wall {s['wall']:.2f} s (median of {runs})  peak RSS {s['rss']:.1f} MiB  peak PSS {s['pss']:.1f} MiB"
              f"  processes {s['procs']}  EC2 calls {sum(calls.values())}")
    k, p = summary["kiln"], summary["packer"]
    print("\nEC2 calls per action (first measured build of each):")
    for action in sorted(set(k["calls"]) | set(p["calls"])):
        print(f"  {action:32} EC2 calls: kiln {k['calls'][action]}, packer {p['calls'][action]}")
    print(f"  {'total':32} EC2 calls: kiln {sum(k['calls'].values())}, packer {sum(p['calls'].values())} (target: no more)")
    print(f"\nratios kiln/packer: wall {k['wall'] / p['wall']:.2f} (target < 0.4), "
          f"memory (PSS) {k['pss'] / p['pss']:.2f} (target < 0.33), RSS {k['rss'] / p['rss']:.2f}, "
          f"API calls {sum(k['calls'].values())}/{sum(p['calls'].values())} (target: no more)\n")
PY
