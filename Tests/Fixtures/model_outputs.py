#!/usr/bin/env python3
"""Checks the element paths Kiln's response decoders read against AWS's own API model.

    model_outputs.py PATHS_FILE

PATHS_FILE holds one path per line, as `XMLElementNode` records them under
`XMLReads.$recorder` (`DescribeImagesResponse/imagesSet/item/blockDeviceMapping/item/ebs`,
`AssumeRoleResponse/AssumeRoleResult/Credentials/AccessKeyId`, `X/**/Name` for a search that
found nothing). Each is walked down the operation's output shape in botocore's service model
(`data/ec2/2016-11-15`, `data/sts/2011-06-15`, `data/ssm/2014-11-06`) with the names botocore's own response parsers
use: an EC2 member is its `locationName`, else its name (`EC2QueryParser`), lists are `item`
elements; a query-protocol (STS) answer sits in the operation's `resultWrapper`, its lists in
`member` elements; a JSON-protocol (SSM) answer's members are their names, a list's elements
`[]`. A name the model does not give is a name AWS never sends: the decoder would
read nothing from a real answer, whatever moto sends.

Prints one line per path the model does not have (with the names the model offers there) and
exits 1 if there was any; roots of error answers (`Response`, `ErrorResponse`) are documented
outside the operation models and skipped.
"""
import sys

import botocore.session

_session = botocore.session.get_session()
_models = [_session.get_service_model(name) for name in ("ec2", "sts", "ssm")]


def _operation(action):
    for model in _models:
        if action in model.operation_names:
            return model, model.operation_model(action)
    return None, None


def _element_name(model, name, shape):
    if model.protocol == "json":
        return name
    return shape.serialization.get("name", name)


def _children(model, shape):
    """(element name, shape) for each element `shape` may hold."""
    if shape.type_name == "structure":
        return [(_element_name(model, n, s), s) for n, s in shape.members.items()]
    if shape.type_name == "list":
        if model.protocol == "json":
            return [("[]", shape.member)]
        if shape.serialization.get("flattened"):
            return []
        return [(shape.member.serialization.get("name", "item" if model.protocol == "ec2" else "member"), shape.member)]
    return []


def _descendants(model, shape, name, seen=None):
    seen = seen if seen is not None else set()
    if shape.name in seen:
        return False
    seen.add(shape.name)
    for child, child_shape in _children(model, shape):
        if child == name or _descendants(model, child_shape, name, seen):
            return True
    return False


def check(path):
    """None when the model has `path`, else why not."""
    parts = path.split("/")
    root = parts[0]
    if root in ("Response", "ErrorResponse"):
        return None
    if not root.endswith("Response"):
        return f"{path}: the root {root} is not an operation's answer"
    model, operation = _operation(root[: -len("Response")])
    if operation is None:
        return f"{path}: {root[:-len('Response')]} is not an EC2, STS or SSM operation"
    shape = operation.output_shape
    rest = parts[1:]
    if model.protocol == "query" and shape is not None:
        wrapper = shape.serialization.get("resultWrapper")
        if rest and rest[0] == "ResponseMetadata":
            return None
        if wrapper:
            if not rest or rest[0] != wrapper:
                return f"{path}: the answer's members are under {wrapper}"
            rest = rest[1:]
    for index, part in enumerate(rest):
        if shape is None:
            return f"{path}: {operation.name} answers nothing"
        if part == "**":
            name = rest[index + 1] if index + 1 < len(rest) else ""
            return None if _descendants(model, shape, name) else f"{path}: nothing named {name} anywhere below"
        children = dict(_children(model, shape))
        if part not in children:
            offered = ", ".join(sorted(children)) or "no elements"
            return f"{path}: the model has no {part} here (it has {offered})"
        shape = children[part]
    return None


def main():
    with open(sys.argv[1]) as f:
        paths = sorted({line.strip() for line in f if line.strip()})
    misses = [m for m in map(check, paths) if m]
    for miss in misses:
        print(miss)
    print(f"model_outputs: {len(paths)} paths read, {len(misses)} not in AWS's model", file=sys.stderr)
    sys.exit(1 if misses else 0)


if __name__ == "__main__":
    main()
