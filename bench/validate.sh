#!/usr/bin/env bash
# Times `kiln validate` against `packer validate` (Debian's Packer 1.6.6) on the same
# templates in the same run, legacy JSON and HCL2, and prints each median, the ratio, and the
# geometric mean ratio of each format. Run on request, not in CI:
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

# The same templates in HCL2, as Packer 1.6.6 validates them (`packer validate FILE.pkr.hcl`):
# the conformance templates' forms written by Packer 1.6.6's own hcl2_upgrade, the harness
# template upgraded by it here (in a copy, with its scripts' directory), and the bench's HCL2
# twin with bench/build.sh's variables (an argument after `|`).
mkdir -p "$scratch/harness/templates"
cp -r "$shared/harness/templates/eks-node-local.json" "$scratch/harness/templates/"
[ ! -d "$shared/harness/scripts" ] || cp -r "$shared/harness/scripts" "$scratch/harness/"
(cd "$scratch/harness/templates" && CHECKPOINT_DISABLE=1 packer hcl2_upgrade eks-node-local.json >/dev/null)
hcl_templates=(
  "$shared/conformance/hcl2/hashicorp__guides-configuration__vault__vault-aws/template.pkr.hcl"
  "$shared/conformance/hcl2/hashicorp__packer__command__test-fixtures__provisioners__provisioner-only-except/template.pkr.hcl"
  "$scratch/harness/templates/eks-node-local.json.pkr.hcl"
  "$PWD/bench/book-template.pkr.hcl|-var moto_url=http://127.0.0.1:5000 -var ssh_port=2222 -var ssh_username=ubuntu"
)

isolate=()
if unshare -n true 2>/dev/null; then isolate=(unshare -n); fi

KILN="$kiln" SCRATCH="$scratch" RUNS="$runs" ISOLATE="${isolate[*]}" python3 - "${templates[@]}" -- "${hcl_templates[@]}" <<'PY'
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

def table(label, templates):
    print(f"{label:58} {'kiln ms':>8} {'packer ms':>10} {'ratio':>7}  verdicts")
    ratios = []
    for entry in templates:
        template, _, extra = entry.partition("|")
        flags = extra.split()
        cwd = os.path.dirname(template)
        kiln, packer, verdicts = [], [], set()
        for _ in range(runs):  # interleaved, so both see the same machine load
            t, rc = timed([os.environ["KILN"], "validate"] + flags + [template], cwd); kiln.append(t); verdicts.add(("kiln", rc))
            t, rc = timed(["packer", "validate"] + flags + [template], cwd); packer.append(t); verdicts.add(("packer", rc))
        k, p = statistics.median(kiln), statistics.median(packer)
        ratios.append(k / p)
        shown = template if "/conformance/hcl2/" not in template else os.path.dirname(template)
        name = os.path.basename(shown)[-58:]
        print(f"{name:58} {k*1000:8.1f} {p*1000:10.1f} {k/p:7.3f}  {sorted(verdicts)}")
    return statistics.geometric_mean(ratios)

split = sys.argv.index("--")
json_ratio = table("legacy JSON template", sys.argv[1:split])
print()
hcl_ratio = table("HCL2 template", sys.argv[split + 1:])
print()
print(f"geometric mean ratio kiln/packer, legacy JSON: {json_ratio:.3f} (target <= 0.100), {runs} runs each")
print(f"geometric mean ratio kiln/packer, HCL2:        {hcl_ratio:.3f} (target <= 0.100), {runs} runs each")
PY
