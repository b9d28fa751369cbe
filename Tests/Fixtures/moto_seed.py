#!/usr/bin/env python3
"""Puts what a test needs into a running moto, with boto3 (signed with moto's key).

    moto_seed.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY REGION OPERATIONS_JSON

OPERATIONS_JSON is a list of operations, done in order:
- {"op": "put_parameter", "name": N, "value": V, "type": "String"|"SecureString"}: a new
  version each time the name repeats (Overwrite), as Parameter Store keeps versions;
- {"op": "register_image", "name": N, "tags": {K: V}, "pause": S}: an EBS-backed HVM image
  (moto stamps its creation date with the current second, so a pause of a little over a
  second between two images gives them different creation dates, as `most_recent` needs).

Prints a JSON list with each operation's result: the parameter's version, or the image id.
"""
import json
import sys
import time

import boto3

endpoint, key, secret, region, operations = sys.argv[1:6]
session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)
ssm = session.client("ssm", endpoint_url=endpoint)
ec2 = session.client("ec2", endpoint_url=endpoint)
results = []
for operation in json.loads(operations):
    time.sleep(operation.get("pause", 0))
    if operation["op"] == "put_parameter":
        answer = ssm.put_parameter(Name=operation["name"], Value=operation["value"], Type=operation["type"], Overwrite=True)
        results.append(answer["Version"])
    elif operation["op"] == "register_image":
        answer = ec2.register_image(
            Name=operation["name"], Architecture="x86_64", RootDeviceName="/dev/xvda", VirtualizationType="hvm",
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])
        image = answer["ImageId"]
        if operation.get("tags"):
            ec2.create_tags(Resources=[image], Tags=[{"Key": k, "Value": v} for k, v in operation["tags"].items()])
        results.append(image)
    else:
        sys.exit(f"moto_seed.py: unknown operation {operation['op']!r}")
print(json.dumps(results))
