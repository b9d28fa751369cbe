#!/usr/bin/env bash
# Kiln and Packer 1.6.6 build the same template through the same latency-faithful EC2 (issue #15
# item 2), on request, not in CI:
#
#   bench/latency.sh [SCALE]      (default 1: AWS's durations; SCALE 20 runs them 20 times faster)
#
# Environment: TOOLS="kiln" builds with Kiln only (default "kiln packer"); LATENCY_SET="image_base=450"
# changes durations of the proxy's table (seconds at SCALE 1, space-separated NAME=SECONDS), e.g.
# a 10-minute snapshot (450 s + 10 s per GiB of moto's 15 GiB image) for the CPU-while-waiting
# figure of issue #15 item 4:
#   TOOLS=kiln LATENCY_SET=image_base=450 bench/latency.sh
#
# bench/latency_proxy.py sits between each tool and a local moto (signatures checked): it holds
# every instance, image, copy and snapshot in its transitional state for the durations of its one
# table divided by SCALE, and refuses SSH (to a real sshd) until the instance has "booted". Use
# SCALE 1 for the honest comparison: Packer's poll intervals (and Kiln's) do not scale, so at a
# higher SCALE a tool's poll interval is a larger share of each wait. At SCALE 1 each build takes
# about 10 minutes: run it in the background (nice -n 19 bench/latency.sh >latency.txt 2>&1 &).
#
# The template is bench/book-template.json (source AMI filter, temporary key pair and security
# group, one shell script, ami_regions with a second region). Per tool it prints the wall time,
# the critical-path floor and the overhead above it, CPU seconds (all, and while the proxy held a
# resource in a transitional state) and the EC2 calls per action, from the proxy's request log.
#
# The floor is the sum of the waits no builder can avoid for this template, from the table:
#   launch + boot + stop + image(size) + max(longest copy(size), terminate)
# The instance must run, boot and stop (the template does not disable the stop) before
# CreateImage, and CreateImage must finish before a copy may start (AWS refuses a copy of a pending
# image). The copies to several regions may run in parallel (the longest counts), and the
# termination may overlap them (nothing needs the instance once its image is available), so
# a builder that runs these one after another shows the difference as overhead.
#
# CPU while waiting: measure.py samples the tool's whole process tree every 20 ms (utime + stime,
# plus what exited children spent); each sample interval's CPU counts in proportion to how much
# of it lies inside the union of the proxy's holds (launch, boot, stop, image, copy, terminate).
# It is what the tool burns polling — plus whatever other work it overlaps with those waits.
#
# Last line, for scripts:
#   kiln overhead X s, packer overhead Y s, floor Z s, kiln cpu while waiting C s
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-1}
command -v packer >/dev/null || { echo "bench/latency.sh needs Packer 1.6.6 (apt-get install packer)" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. bench/lib.sh

python3 Tests/Fixtures/moto_server.py "$work/moto.json" "$work/moto-requests.tsv" --authorized-keys="$work/authorized_keys" \
  <"$work/lifeline" >"$work/moto.log" 2>&1 &
for _ in $(seq 1 600); do [ -f "$work/moto.json" ] && break; sleep 0.1; done
python3 Tests/Fixtures/sshd_server.py "$work/sshd.json" "$work/authorized_keys" <"$work/lifeline" >"$work/sshd.log" 2>&1 &
for _ in $(seq 1 200); do [ -f "$work/sshd.json" ] && break; sleep 0.1; done
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
sets=()
for setting in ${LATENCY_SET:-}; do sets+=("--set=$setting"); done
python3 bench/latency_proxy.py "$work/proxy.json" "$work/moto.json" "$(field "$work/sshd.json" port)" "$scale" "$work" "${sets[@]}" \
  <"$work/lifeline" >"$work/proxy.log" 2>&1 &
for _ in $(seq 1 200); do [ -f "$work/proxy.json" ] && break; sleep 0.1; done
[ -f "$work/proxy.json" ] || { echo "bench/latency_proxy.py did not start:" >&2; cat "$work/proxy.log" >&2; exit 1; }
touch "$work/requests.tsv" "$work/holds.tsv"

# Only loopback: no proxies, no metadata service, no telemetry, no shared AWS files.
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
AWS_ACCESS_KEY_ID=$(field "$work/moto.json" access_key_id)
AWS_SECRET_ACCESS_KEY=$(field "$work/moto.json" secret_access_key)
export AWS_EC2_METADATA_DISABLED=true CHECKPOINT_DISABLE=1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export NO_PROXY='*'
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY \
  AWS_POLL_DELAY_SECONDS AWS_MAX_ATTEMPTS || true
vars=(-var "moto_url=http://127.0.0.1:$(field "$work/proxy.json" port)" -var "ssh_port=$(field "$work/proxy.json" ssh_port)"
  -var "ssh_username=$(field "$work/sshd.json" user)")

# One build by $1 (kiln or packer): measurements in $work/<tool>.json, CPU samples in
# $work/<tool>.cpu, its requests and the proxy's holds from the lines the proxy wrote meanwhile.
build() {
  local tool=$1 requests holds cmd
  requests=$(wc -l <"$work/requests.tsv")
  holds=$(wc -l <"$work/holds.tsv")
  cmd=("$kiln" build -color=false -timestamp-ui "${vars[@]}" bench/book-template.json)
  [ "$tool" = packer ] && cmd=(packer build -color=false -timestamp-ui "${vars[@]}" bench/book-template.json)
  echo "$(date +%T) $tool build at SCALE $scale..." >&2
  if ! python3 bench/measure.py "$work/$tool.json" --cpu-log="$work/$tool.cpu" -- "${cmd[@]}" >"$work/$tool.log" 2>&1; then :; fi
  if [ "$(field "$work/$tool.json" status)" != 0 ]; then
    echo "$tool build of bench/book-template.json failed:" >&2
    tail -20 "$work/$tool.log" >&2
    exit 1
  fi
  tail -n +"$((requests + 1))" "$work/requests.tsv" >"$work/$tool.requests"
  tail -n +"$((holds + 1))" "$work/holds.tsv" >"$work/$tool.holds"
}

tools=${TOOLS:-kiln packer}
for tool in $tools; do build "$tool"; done

python3 - "$work" "$scale" "$tools" <<'PY'
import collections, json, sys
work, scale, tools = sys.argv[1], sys.argv[2], sys.argv[3].split()
D = json.load(open(f"{work}/proxy.json"))["durations"]


def holds(tool):
    rows = [line.split("\t") for line in open(f"{work}/{tool}.holds").read().splitlines()]
    return [(kind, float(start), float(end), int(size)) for kind, _, start, end, size in rows]


def union(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def cpu_while(tool, windows):
    samples = [tuple(map(float, line.split("\t"))) for line in open(f"{work}/{tool}.cpu").read().splitlines()]
    total = 0.0
    for (t0, c0), (t1, c1) in zip(samples, samples[1:]):
        if t1 <= t0 or c1 <= c0:
            continue
        inside = sum(max(0.0, min(t1, e) - max(t0, s)) for s, e in windows)
        total += (c1 - c0) * inside / (t1 - t0)
    return total


def floor(rows):
    size = max((s for k, _, _, s in rows if k == "image"), default=0)
    copies = [s for k, _, _, s in rows if k == "copy"]
    image = D["image_base"] + D["image_per_gib"] * size
    copy = max((D["copy_base"] + D["copy_per_gib"] * s for s in copies), default=0.0)
    parts = {"launch": D["launch"], "boot": D["boot"], "stop": D["stop"], f"image ({size} GiB)": image,
             f"max(copy x{len(copies)}, terminate)": max(copy, D["terminate"])}
    return sum(parts.values()), parts


print(f"== bench/latency.sh at SCALE {scale}: bench/book-template.json through bench/latency_proxy.py")
print("durations (s, scaled): " + ", ".join(f"{k} {v:g}" for k, v in D.items()))
result = {}
for tool in tools:
    data = json.load(open(f"{work}/{tool}.json"))
    rows = holds(tool)
    windows = union([(s, e) for _, s, e, _ in rows])
    total_floor, parts = floor(rows)
    calls = collections.Counter(line.split("\t")[1] for line in open(f"{work}/{tool}.requests").read().splitlines())
    refused = sum(1 for line in open(f"{work}/{tool}.requests").read().splitlines() if line.endswith("\tproxy"))
    result[tool] = r = {"wall": data["wall"], "floor": total_floor, "parts": parts, "cpu": data["cpu"],
                        "cpu_waiting": cpu_while(tool, windows), "waiting": sum(e - s for s, e in windows),
                        "calls": calls, "refused": refused, "rss": data["peak_rss_mib"]}
    print(f"{tool:6}  wall {r['wall']:.1f} s  floor {r['floor']:.1f} s  overhead {r['wall'] - r['floor']:.1f} s"
          f"  CPU {r['cpu']:.2f} s, of which {r['cpu_waiting']:.2f} s in the {r['waiting']:.0f} s of holds"
          f"  EC2 calls {sum(calls.values())} ({refused} refused by the proxy)  peak RSS {r['rss']:.0f} MiB"
          f"  CPU while waiting {100 * r['cpu_waiting'] / max(r['waiting'], 1e-9):.3f}% of one core")
k = result[tools[0]]
print("floor = " + " + ".join(f"{name} {seconds:g}" for name, seconds in k["parts"].items()) + f" = {k['floor']:g} s")
if "packer" not in result or "kiln" not in result:
    r = result[tools[0]]
    print(f"{tools[0]} overhead {r['wall'] - r['floor']:.1f} s, floor {r['floor']:.1f} s, "
          f"{tools[0]} cpu while waiting {r['cpu_waiting']:.2f} s over {r['waiting']:.0f} s")
    sys.exit(0)
k, p = result["kiln"], result["packer"]
print("\nEC2 calls per action:")
for action in sorted(set(k["calls"]) | set(p["calls"])):
    print(f"  {action:32} EC2 calls: kiln {k['calls'][action]}, packer {p['calls'][action]}")
print(f"  {'total':32} EC2 calls: kiln {sum(k['calls'].values())}, packer {sum(p['calls'].values())}")
print(f"kiln overhead {k['wall'] - k['floor']:.1f} s, packer overhead {p['wall'] - p['floor']:.1f} s, "
      f"floor {k['floor']:.1f} s, kiln cpu while waiting {k['cpu_waiting']:.2f} s")
PY
