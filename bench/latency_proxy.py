#!/usr/bin/env python3
"""A latency-faithful EC2 for bench/latency.sh: a loopback proxy in front of moto (issue #15 item 1).

    latency_proxy.py READY_FILE MOTO_JSON SSHD_PORT SCALE LOG_DIR [--no-capacity=TYPE@AZ,...] [--set=NAME=SECONDS ...]

On loopback moto makes every state change at once. This proxy forwards every EC2 request to moto
unchanged (bytes and headers: moto checks the SigV4 signature) and rewrites the answers so that
each resource stays in its transitional state as long as AWS keeps it there, per DURATIONS / SCALE:
instances `pending` then `running`, `stopping`, `shutting-down`; an image `pending` (and its
snapshots `pending` with a growing progress) for a time that grows with its size; an image copy
`pending` likewise. It also enforces AWS's ordering rules where a builder could break them (RULES
below), and answers RunInstances with InsufficientInstanceCapacity for the TYPE@AZ pairs given
(AZ `*`: any; a launch naming no zone is in the region's first zone, EC2's choice as moto makes it).

SSH "boot": a TCP forwarder to 127.0.0.1:SSHD_PORT on its own port. Its socket is bound but not
listening (a connection is refused, ECONNREFUSED) until an instance has been running for
DURATIONS["boot"] / SCALE, and again once that instance is stopped or terminated.

Writes {"port", "ssh_port", "durations"} (durations already scaled) to READY_FILE. In LOG_DIR:
`requests.tsv` (epoch, action, HTTP status, "proxy" when the proxy answered itself: one line per
call the tool made) and `holds.tsv` (kind, resource id, start epoch, end epoch, GiB for images: every transitional
state the proxy holds, for the CPU-while-waiting figure). The proxy reads moto's own state with
boto3 straight from moto (not through itself), to learn a new image's snapshots and size.
"""
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures"))
from lifeline import exit_with_parent, write_ready  # noqa: E402

# Seconds at SCALE 1: how long AWS keeps each transitional state. One table; SCALE divides it.
DURATIONS = {
    # RunInstances → `running`: issue #15 ("launch to running (~5 s)"); the EC2 User Guide,
    # "Instance state changes": an instance is `pending` while it is prepared to enter `running`.
    "launch": 5.0,
    # `running` → sshd accepts a connection: issue #15 ("boot to SSH (~25–30 s)"), the low end.
    "boot": 25.0,
    # StopInstances → `stopped`: issue #15 ("stop (tens of seconds)"); an EBS-backed Linux
    # instance shuts its OS down first.
    "stop": 30.0,
    # CreateImage → image `available` (its snapshots `completed`): base + per GiB of the image's
    # volumes. EC2 User Guide, "Create an Amazon EBS-backed AMI": "Depending on the size of the
    # volumes, it can take several minutes for the AMI-creation process to complete (sometimes up
    # to 24 hours)"; issue #15: "the snapshot behind CreateImage (minutes)". No AWS page gives a
    # rate: base and per-GiB figures are our estimate inside that range. 8 GiB → 2 min 20 s.
    "image_base": 60.0,
    "image_per_gib": 10.0,
    # CopyImage → the copy `available` in its region: issue #15 "region copies (minutes)"; a copy
    # moves every block (the destination has no earlier snapshot to be incremental on), so its
    # base is longer than CreateImage's. Our estimate too, as for the image. 8 GiB → 3 min 20 s.
    "copy_base": 120.0,
    "copy_per_gib": 10.0,
    # TerminateInstances → `terminated`: ~60 s `shutting-down` in an EKS AMI build log,
    # awslabs/amazon-eks-ami#1229 (cited by issue #15).
    "terminate": 60.0,
}

# AWS's ordering rules, each with its AWS error (EC2 API Reference, "Error codes for the Amazon
# EC2 API": InvalidAMIID.Unavailable — "The specified AMI has been deregistered and is no longer
# available, or is not in a state from which you can launch an instance or modify attributes";
# AWS answers it for an AMI still `pending`, e.g. "AMI 'ami-…' is pending, and cannot be run").
#  - CopyImage of a source image that is not yet `available` is refused (InvalidAMIID.Unavailable).
#  - RunInstances of an image that is not yet `available` is refused (InvalidAMIID.Unavailable).
#  - DeleteSecurityGroup of a group an instance still uses (until it is `terminated`, so through
#    `shutting-down`) is refused: DependencyViolation, "resource sg-… has a dependent object"
#    (same table: "The specified object has dependent resources").
# InsufficientInstanceCapacity is a server error in that table (HTTP 500).

ready_file, moto_json, sshd_port, scale, log_dir = sys.argv[1:6]
sshd_port, scale = int(sshd_port), float(scale)
no_capacity = set()
for arg in sys.argv[6:]:
    if arg.startswith("--no-capacity="):
        no_capacity.update(pair.strip() for pair in arg.split("=", 1)[1].split(",") if pair.strip())
    elif arg.startswith("--set="):
        # --set=NAME=SECONDS replaces one duration of the table (seconds at SCALE 1), e.g. a
        # 10-minute snapshot for the CPU-while-waiting figure: --set=image_base=450 (450 s +
        # 10 s per GiB of moto's 15 GiB image).
        name, _, value = arg.split("=", 1)[1].partition("=")
        if name not in DURATIONS:
            sys.exit(f"latency_proxy.py: --set names {name!r}, which is not in DURATIONS ({', '.join(DURATIONS)})")
        DURATIONS[name] = float(value)
D = {name: seconds / scale for name, seconds in DURATIONS.items()}

exit_with_parent()
moto = json.load(open(moto_json))
upstream = f"http://127.0.0.1:{moto['port']}"
lock = threading.RLock()
instances = {}  # id → {"launched", "stop", "terminate"} (epochs; None until asked)
images = {}  # id → {"start", "end", "size", "snapshots", "region", "kind"}
snapshots = {}  # id → (start, end)


def log_hold(kind, resource, start, end, size=0):
    with open(os.path.join(log_dir, "holds.tsv"), "a") as f:
        f.write(f"{kind}\t{resource}\t{start:.3f}\t{end:.3f}\t{size}\n")


def log_request(action, status, by_proxy):
    with open(os.path.join(log_dir, "requests.tsv"), "a") as f:
        f.write(f"{time.time():.3f}\t{action}\t{status}\t{'proxy' if by_proxy else 'moto'}\n")


def moto_client(region):
    import boto3
    return boto3.client("ec2", endpoint_url=upstream, region_name=region,
                        aws_access_key_id=moto["access_key_id"], aws_secret_access_key=moto["secret_access_key"])


def image_pending(image_id, now):
    image = images.get(image_id)
    return image is not None and now < image["end"]


def error(code, message, status=400):
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
            f'<Message>{message}</Message></Error></Errors><RequestID>latency-proxy</RequestID></Response>')
    return status, body.encode()


def refuse(action, params, region, now):
    """AWS's answer where the proxy must refuse the request itself, else None."""
    if action == "CopyImage":
        source = params.get("SourceImageId", "")
        if image_pending(source, now):
            return error("InvalidAMIID.Unavailable", f"AMI '{source}' is pending, and cannot be copied")
    if action == "DeleteSecurityGroup":
        group = params.get("GroupId", "")
        for record in instances.values():
            if group in record["groups"] and (record["terminate"] is None or now < record["terminate"] + D["terminate"]):
                return error("DependencyViolation", f"resource {group} has a dependent object")
    if action == "RunInstances":
        image = params.get("ImageId", "")
        if image_pending(image, now):
            return error("InvalidAMIID.Unavailable", f"AMI '{image}' is pending, and cannot be run")
        # With no zone named, EC2 chooses one, and its refusal names it; moto launches such an
        # instance in the region's first zone, so the proxy takes EC2's choice to be that zone.
        kind = params.get("InstanceType", "m1.small")
        zone = params.get("Placement.AvailabilityZone") or f"{region}a"
        if f"{kind}@*" in no_capacity or f"{kind}@{zone}" in no_capacity:
            return error("InsufficientInstanceCapacity",
                         f"We currently do not have sufficient {kind} capacity in the Availability Zone you requested"
                         f" ({zone}). Our system will be working on provisioning additional capacity.",
                         500)
    return None


STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}


def shown_instance_state(instance_id, moto_state, now):
    """The state AWS would report for an instance moto reports as `moto_state`."""
    record = instances.get(instance_id)
    if record is None:
        return moto_state
    if moto_state == "running" and now < record["launched"] + D["launch"]:
        return "pending"
    if moto_state == "stopped" and record["stop"] is not None and now < record["stop"] + D["stop"]:
        return "stopping"
    if moto_state == "terminated" and record["terminate"] is not None and now < record["terminate"] + D["terminate"]:
        return "shutting-down"
    return moto_state


def rewrite_instances(text, now, tag):
    """Every <instanceId>X</instanceId>…<TAG><code>N</code><name>S</name> (tag: instanceState or currentState)."""
    pattern = re.compile(r"(<instanceId>(i-[0-9a-f]+)</instanceId>.*?<" + tag + r">\s*<code>)(\d+)(</code>\s*<name>)([a-z-]+)(</name>)", re.S)

    def replace(match):
        state = shown_instance_state(match.group(2), match.group(5), now)
        return f"{match.group(1)}{STATE_CODES.get(state, match.group(3))}{match.group(4)}{state}{match.group(6)}"
    return pattern.sub(replace, text)


def rewrite_images(text, now):
    def replace(match):
        return match.group(1) + ("pending" if image_pending(match.group(2), now) else match.group(3)) + match.group(4)
    return re.sub(r"(<imageId>(ami-[0-9a-f]+)</imageId>.*?<imageState>)([a-z]+)(</imageState>)", replace, text, flags=re.S)


def rewrite_snapshots(text, now):
    """Every <snapshotId>X</snapshotId>…<status>S</status>…<progress>P</progress> of a snapshot held pending."""
    def replace(match):
        window = snapshots.get(match.group(2))
        if window is None or now >= window[1]:
            return match.group(0)
        percent = int(100 * (now - window[0]) / (window[1] - window[0]))
        return f"{match.group(1)}pending{match.group(4)}{percent}%{match.group(6)}"
    pattern = r"(<snapshotId>(snap-[0-9a-f]+)</snapshotId>.*?<status>)([a-z]+)(</status>.*?<progress>)([^<]*)(</progress>)"
    return re.sub(pattern, replace, text, flags=re.S)


def track_image(image_id, region, start, kind, size=None):
    """Learns the new image's snapshots and size from moto, then holds it pending. A copy has
    its source's size (`size`): moto gives a copy's snapshots a size of its own, AWS the
    source's (a copy is the same blocks in another region)."""
    found = moto_client(region).describe_images(ImageIds=[image_id])["Images"]
    mappings = [m["Ebs"] for m in (found[0]["BlockDeviceMappings"] if found else []) if "Ebs" in m]
    if size is None:
        size = sum(m.get("VolumeSize", 0) for m in mappings)
    base, per = (D["image_base"], D["image_per_gib"]) if kind == "image" else (D["copy_base"], D["copy_per_gib"])
    end = start + base + per * size
    with lock:
        images[image_id] = {"start": start, "end": end, "size": size, "region": region, "kind": kind}
        for mapping in mappings:
            if mapping.get("SnapshotId"):
                snapshots[mapping["SnapshotId"]] = (start, end)
    log_hold(kind, image_id, start, end, size)


def after(action, params, region, text, now):
    """Learns from an answer moto gave, then rewrites it as AWS would have answered."""
    if action == "RunInstances":
        groups = {v for k, v in params.items() if re.fullmatch(r"SecurityGroupId\.\d+|NetworkInterface\.\d+\.SecurityGroupId\.\d+", k)}
        for instance_id in re.findall(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text):
            with lock:
                instances[instance_id] = {"launched": now, "stop": None, "terminate": None, "groups": groups}
            log_hold("launch", instance_id, now, now + D["launch"])
            log_hold("boot", instance_id, now + D["launch"], now + D["launch"] + D["boot"])
    elif action in ("StopInstances", "TerminateInstances"):
        key, duration = ("stop", D["stop"]) if action == "StopInstances" else ("terminate", D["terminate"])
        for instance_id in re.findall(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text):
            with lock:
                record = instances.get(instance_id)
                if record is not None and record[key] is None:
                    record[key] = now
                    log_hold(key, instance_id, now, now + duration)
    elif action in ("CreateImage", "CopyImage"):
        found = re.search(r"<imageId>(ami-[0-9a-f]+)</imageId>", text)
        if found and action == "CreateImage":
            track_image(found.group(1), region, now, "image")
        elif found:
            with lock:
                source = images.get(params.get("SourceImageId", ""))
            track_image(found.group(1), region, now, "copy", source["size"] if source else None)
    with lock:
        if action in ("DescribeInstances", "DescribeInstanceStatus"):
            return rewrite_instances(text, now, "instanceState")
        if action in ("StopInstances", "TerminateInstances", "StartInstances"):
            return rewrite_instances(text, now, "currentState")
        if action == "DescribeImages":
            return rewrite_images(text, now)
        if action == "DescribeSnapshots":
            return rewrite_snapshots(text, now)
    return text


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="text/xml"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = body.decode("utf-8", "replace") if self.command == "POST" else urllib.parse.urlsplit(self.path).query
        params = {k: v[0] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
        action = params.get("Action", "")
        scope = re.search(r"Credential=[^/]+/\d+/([^/]+)/", self.headers.get("Authorization", ""))
        region = scope.group(1) if scope else "us-east-1"
        now = time.time()
        with lock:
            refusal = refuse(action, params, region, now)
        if refusal is not None:
            log_request(action, refusal[0], True)
            return self.reply(*refusal)
        request = urllib.request.Request(upstream + self.path, data=body if body else None, method=self.command)
        for name, value in self.headers.items():
            # Host too: the client signed it, and moto checks the signature.
            if name.lower() not in ("content-length", "connection"):
                request.add_header(name, value)
        try:
            with urllib.request.urlopen(request) as response:
                status, answer, content_type = response.status, response.read(), response.headers.get("Content-Type", "text/xml")
        except urllib.error.HTTPError as failure:
            status, answer, content_type = failure.code, failure.read(), failure.headers.get("Content-Type", "text/xml")
        if status == 200 and action:
            answer = after(action, params, region, answer.decode("utf-8"), now).encode("utf-8")
        log_request(action, status, False)
        return self.reply(status, answer, content_type)

    do_GET = do_POST = handle_any


def ssh_gate(listener_holder):
    """Listens on the SSH port only while some instance has booted and is neither stopping nor
    terminating; otherwise the bound socket is not listening and the kernel refuses connections."""
    port = listener_holder["port"]
    listening = False
    while True:
        now = time.time()
        with lock:
            up = any(r["stop"] is None and r["terminate"] is None and now >= r["launched"] + D["launch"] + D["boot"]
                     for r in instances.values())
        if up and not listening:
            listener_holder["socket"].listen(16)
            listening = True
            threading.Thread(target=accept_loop, args=(listener_holder["socket"],), daemon=True).start()
        elif not up and listening:
            old = listener_holder["socket"]
            try:
                old.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
            except OSError:
                pass
            old.close()
            listener_holder["socket"] = bound_socket(port)
            listening = False
        time.sleep(0.05)


def bound_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    return s


def accept_loop(listener):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return  # the gate closed it
        try:
            server = socket.create_connection(("127.0.0.1", sshd_port))
        except OSError:
            client.close()
            continue
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


def pump(source, destination):
    try:
        while data := source.recv(65536):
            destination.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, destination):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


gate = {"socket": bound_socket(0)}
gate["port"] = gate["socket"].getsockname()[1]
threading.Thread(target=ssh_gate, args=(gate,), daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
write_ready(ready_file, {"port": server.server_address[1], "ssh_port": gate["port"], "durations": D})
server.serve_forever()
