#!/usr/bin/env bash
# Times `kiln validate` against `packer validate` (Debian's Packer 1.6.6) on the same
# templates in the same run, and prints each median and the ratio. Run on request, not in CI:
#
#   bench/validate.sh [RUNS]        (default 15 runs per tool and template)
#
# Both tools run with no network (`unshare -n` when available), dummy AWS credentials and
# CHECKPOINT_DISABLE=1, from a scratch directory. Target: kiln at most 1/10 of Packer's time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}

command -v packer >/dev/null || { echo "bench: install Debian's packer first (apt-get install packer)" >&2; exit 1; }
swift build -c release --product kiln >/dev/null
kiln=$(swift build -c release --show-bin-path)/kiln

shared=$(cd .. && pwd)/shared
templates=(
  "$shared/conformance/templates/hashicorp__guides-configuration__vault__vault-aws.json"
  "$shared/conformance/templates/hashicorp__packer__command__test-fixtures__provisioners__provisioner-only-except.json"
  "$shared/harness/templates/eks-node-local.json"
)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
echo payload >"$scratch/payload"

isolate=()
if unshare -n true 2>/dev/null; then isolate=(unshare -n); fi

KILN="$kiln" SCRATCH="$scratch" RUNS="$runs" ISOLATE="${isolate[*]}" python3 - "${templates[@]}" <<'PY'
import os, statistics, subprocess, sys, time
env = {
    "PATH": "/usr/bin:/bin", "HOME": os.environ["SCRATCH"], "CHECKPOINT_DISABLE": "1",
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_EC2_METADATA_DISABLED": "true",
    # what the harness template reads from its environment
    "HARNESS_REGION": "us-east-1", "MOTO_URL": "http://127.0.0.1:5000", "HARNESS_SSH_HOST": "127.0.0.1",
    "HARNESS_SSH_PORT": "2222", "HARNESS_SSH_USER": "ubuntu",
    "HARNESS_PAYLOAD": os.path.join(os.environ["SCRATCH"], "payload"),
}
isolate = os.environ["ISOLATE"].split()
runs = int(os.environ["RUNS"])

def timed(cmd, cwd):
    start = time.perf_counter()
    done = subprocess.run(isolate + cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, done.returncode

print(f"{'template':58} {'kiln ms':>8} {'packer ms':>10} {'ratio':>7}  verdicts")
ratios = []
for template in sys.argv[1:]:
    cwd = os.path.dirname(template)
    kiln, packer, verdicts = [], [], set()
    for _ in range(runs):  # interleaved, so both see the same machine load
        t, rc = timed([os.environ["KILN"], "validate", template], cwd); kiln.append(t); verdicts.add(("kiln", rc))
        t, rc = timed(["packer", "validate", template], cwd); packer.append(t); verdicts.add(("packer", rc))
    k, p = statistics.median(kiln), statistics.median(packer)
    ratios.append(k / p)
    name = os.path.basename(template)[-58:]
    print(f"{name:58} {k*1000:8.1f} {p*1000:10.1f} {k/p:7.3f}  {sorted(verdicts)}")
print(f"geometric mean ratio kiln/packer: {statistics.geometric_mean(ratios):.3f} (target <= 0.100), {runs} runs each")
PY
