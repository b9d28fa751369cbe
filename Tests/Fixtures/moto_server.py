#!/usr/bin/env python3
"""moto in server mode on 127.0.0.1, for Kiln's tests, with request signatures checked.

    moto_server.py READY_FILE [REQUEST_LOG] [--no-auth] [--authorized-keys=PATH]

Binds a free loopback port, switches on moto's IAM authentication (the first four requests
are unauthenticated and used here to create a user, an access key and an allow-all policy),
then writes {"port": N, "access_key_id": ..., "secret_access_key": ...} to READY_FILE.
Every request after that must carry a valid SigV4 signature from that key. With REQUEST_LOG,
appends one line per request: epoch, access key id, action, status.

With --authorized-keys=PATH, the file is rewritten (atomically, before the answer goes out)
after every EC2 request with the public keys that the instances moto calls running were
launched with, in every account and region (kept after the key pair is deleted, as on EC2). A test sshd reading it as its AuthorizedKeysFile then
behaves like a launched instance: it accepts exactly the key pair the instance was started
with, and stops accepting it once the instance is stopped or terminated. (The reference
harness does this with an AuthorizedKeysCommand, which sshd only runs from a root-owned path;
a file works for any user and any checkout location.)

Every EC2 and STS request is first checked against AWS's own API model with botocore's own
parser, validator and serializer (`model_check.py`); one the model refuses is answered 400
`KilnModelCheckFailed` with the reason, and is not passed to moto: a request AWS would refuse
fails the test that sent it, even where moto would have been lenient. With
KILN_MODEL_CHECK_REPORT set, each verdict is appended there (service, action, accepted or
refused) for `model_report.py`, which `.ci/run` prints after `swift test`.

Where moto 5.2.1 lacks or fakes what AWS does, `moto_patches.py` adds it (each patch citing
the EC2 API Reference): tags at creation on CreateImage/CopyImage snapshots, CopyImage images,
RunInstances network interfaces and spot requests; RunInstances and CopyImage ClientToken
idempotency; CreateImage's refusal of a taken name; EnableImageDeprecation,
EnableImageDeregistrationProtection and STS DecodeAuthorizationMessage.

JSON-protocol requests (SSM, named by their `X-Amz-Target` header) are checked the same way
(`model_check.check_json`), logged and reported under their action, and refused with a JSON
error answer (`__type`: `KilnModelCheckFailed`).
"""
import json
import os
import sys
import threading

import model_check
from lifeline import exit_with_parent, write_ready

# Signature checking on, unless --no-auth: moto's checker fails (HTTP 500) on the unsigned
# calls AWS allows, such as STS AssumeRoleWithWebIdentity.
auth = "--no-auth" not in sys.argv
if auth:
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")

from moto.server import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

import moto_patches  # noqa: E402

# Where moto lags AWS (tags at creation, spot requests, ClientToken, AMI deprecation and
# deregistration protection), it is taught AWS's documented behaviour: see moto_patches.py.
moto_patches.apply()

ready_file = sys.argv[1]

exit_with_parent()
authorized_keys = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--authorized-keys=")), None)
sys.argv = [a for a in sys.argv if not a.startswith("--authorized-keys=")]
request_log = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "--no-auth" else None
# The whole test run's model-check verdicts, one line per request, for `model_report.py`.
report_file = os.environ.get("KILN_MODEL_CHECK_REPORT")
lock = threading.Lock()


def logged_parameters(body):
    """The request's form parameters as they came (URL-encoded, so one line), with the values of
    secret-looking ones (tokens other than ClientToken, secrets, passwords) replaced. A JSON
    body (SSM) is logged the same way, its top-level members as form parameters."""
    import re
    import urllib.parse
    text = body.decode("utf-8", "replace")
    if text.startswith("{"):
        try:
            members = json.loads(text)
            text = urllib.parse.urlencode({k: json.dumps(v) if not isinstance(v, str) else v for k, v in members.items()})
        except (ValueError, AttributeError):
            text = ""
    parts = []
    for part in text.split("&"):
        name = part.split("=", 1)[0]
        if name != "ClientToken" and re.search("token|secret|password", name, re.I):
            part = name + "=REDACTED"
        parts.append(part)
    return "&".join(parts)


def logged(app):
    def wrapper(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        import io
        environ["wsgi.input"] = io.BytesIO(body)
        action = ""
        # A JSON-protocol request (SSM) names its action in X-Amz-Target: AmazonSSM.GetParameter.
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        for part in body.decode("utf-8", "replace").split("&") + environ.get("QUERY_STRING", "").split("&"):
            if part.startswith("Action="):
                action = part[len("Action="):]
        if target:
            action = target.partition(".")[2]
        auth = environ.get("HTTP_AUTHORIZATION", "")
        key = auth.split("Credential=")[1].split("/")[0] if "Credential=" in auth else "-"
        status_holder = {}

        if target:
            refusal = model_check.check_json(target, environ.get("CONTENT_TYPE", ""), body)
            checked = model_check.json_service_and_action(target)
        else:
            query = body if environ.get("REQUEST_METHOD") == "POST" else environ.get("QUERY_STRING", "").encode()
            refusal = model_check.check(query)
            checked = model_check.service_and_action(query)
        if report_file and checked:
            with lock, open(report_file, "a") as report:
                report.write(f"{checked[0]}\t{checked[1]}\t{'refused' if refusal else 'accepted'}\n")
        if refusal is not None:
            print(f"moto_server: AWS's model refuses the request: {refusal}", file=sys.stderr, flush=True)
            if request_log:
                import time
                with lock, open(request_log, "a") as log:
                    log.write(f"{time.time():.3f}\t{key}\t{action}\t400\t{logged_parameters(body)}\n")
            if target:
                answer = json.dumps({"__type": "KilnModelCheckFailed", "message": refusal}).encode()
                content_type = "application/x-amz-json-1.1"
            else:
                from xml.sax.saxutils import escape
                answer = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>KilnModelCheckFailed</Code>"
                          f"<Message>{escape(refusal)}</Message></Error></Errors><RequestID>model-check</RequestID></Response>").encode()
                content_type = "text/xml"
            start_response("400 Bad Request", [("Content-Type", content_type), ("Content-Length", str(len(answer)))])
            return [answer]

        def capture(status, headers, exc_info=None):
            status_holder["status"] = status.split(" ")[0]
            return start_response(status, headers, exc_info)

        result = app(environ, capture)
        if authorized_keys and action:
            result = list(result)  # let moto finish the request before reading its state
            write_authorized_keys()
        if request_log:
            import time
            with lock, open(request_log, "a") as log:
                log.write(f"{time.time():.3f}\t{key}\t{action}\t{status_holder.get('status', '?')}\t{logged_parameters(body)}\n")
        return result

    return wrapper


# The public key each instance was launched with, by (account, region, instance id). EC2 puts
# the key on the instance at launch, and it stays there: "Deleting a public key doesn't remove
# the public key from any instances to which you've added it, either when you launched the
# instance or later" (EC2 User Guide, "Delete your key pair"). moto keeps only the key pair's
# name on the instance, so its key is remembered here the first time the instance is seen.
launch_keys = {}


def write_authorized_keys():
    from moto.ec2.models import ec2_backends
    lines = []
    with lock:
        for account in list(ec2_backends.keys()):
            regions = ec2_backends[account]
            for region in list(regions.keys()):
                backend = regions[region]
                for instance in backend.all_instances():
                    pair = backend.key_pairs.get(instance.key_name) if instance.key_name else None
                    if pair is not None:
                        launch_keys.setdefault((account, region, instance.id), pair.public_key.strip())
                for instance in backend.all_running_instances():
                    key = launch_keys.get((account, region, instance.id))
                    if key is not None and key not in lines:
                        lines.append(key)
        with open(authorized_keys + ".tmp", "w") as f:
            f.write("".join(line + "\n" for line in lines))
        os.rename(authorized_keys + ".tmp", authorized_keys)


if authorized_keys:
    open(authorized_keys, "a").close()

app = DomainDispatcherApplication(create_backend_app)
server = make_server("127.0.0.1", 0, logged(app), threaded=True)
port = server.server_address[1]
thread = threading.Thread(target=server.serve_forever, daemon=True)
thread.start()

import boto3  # noqa: E402

if not auth:
    write_ready(ready_file, {"port": port, "access_key_id": "AKIDNOAUTH", "secret_access_key": "not-checked"})
    thread.join()

endpoint = f"http://127.0.0.1:{port}"
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="kiln-test")
key = iam.create_access_key(UserName="kiln-test")["AccessKey"]
policy = iam.create_policy(PolicyName="allow-all", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}))
iam.attach_user_policy(UserName="kiln-test", PolicyArn=policy["Policy"]["Arn"])

write_ready(ready_file, {"port": port, "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]})
thread.join()
