"""Checks each EC2/STS query request against AWS's own API model, with botocore's own code.

botocore ships the service models AWS publishes (`botocore/data/ec2/2016-11-15/service-2.json.gz`,
`sts/2011-06-15/…`) and the code the AWS SDK for Python builds requests with. A request Kiln
sends is checked in three moves, so a hand-written walker's leniency cannot hide a mistake:

1. its form parameters are read back into the call's parameters by following the operation's
   input shape with the serializer's own naming rule (`_get_serialized_name`: `queryName`, else
   the capitalised `locationName` for EC2; `Name.member.N` lists and `entry.N.key` maps for the
   STS query protocol, flattened `Name.N` lists for EC2). A parameter the shape does not have,
   a list whose indexes are not 1…n, a boolean other than `true`/`false`, a number that is not
   one: each is refused with its name;
2. botocore's `ParamValidator` validates those parameters (required members, types, ranges);
3. botocore's serializer writes them out again, and the result must be the request's own
   parameters (timestamps compared as instants).

`check(body)` returns None for a request AWS's model accepts, else the reason. Requests for
services this module has no model for (moto's IAM bootstrap) are not its business: None.

JSON-protocol requests (SSM, `ssm/2014-11-06/service-2.json.gz`) are checked by
`check_json(target, content_type, body)` in the same three moves: the `X-Amz-Target` header
must be the model's `targetPrefix` and an operation of it, the content type the model's
`application/x-amz-json-<jsonVersion>`, and the body a JSON object; botocore's
`ParamValidator` validates it (unknown members, required members, JSON types: a boolean sent
as "true" is refused); botocore's serializer writes it again, and the result must be the same
JSON document and the same target.
"""
import datetime
import json
import threading
import urllib.parse

import botocore.session
from botocore.serialize import create_serializer
from botocore.validate import ParamValidator

_SERVICES = {"2016-11-15": "ec2", "2011-06-15": "sts"}
# JSON-protocol services, by their model's targetPrefix.
_JSON_SERVICES = {"AmazonSSM": "ssm"}
_lock = threading.Lock()
_models = {}


def _service(version):
    return _service_named(_SERVICES.get(version))


def _service_named(name):
    if name is None:
        return None
    with _lock:
        if name not in _models:
            model = botocore.session.get_session().get_service_model(name)
            _models[name] = (model, create_serializer(model.protocol, include_validation=False))
        return _models[name]


class Refused(Exception):
    pass


def _tree(pairs):
    """`A.1.B` = v as nested dicts {"A": {"1": {"B": v}}}; a key both a leaf and a branch is refused."""
    root = {}
    for key, value in pairs:
        node = root
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise Refused(f"parameter {key}: {part} is both a value and a structure")
            node = child
        if parts[-1] in node:
            raise Refused(f"parameter {key} appears twice")
        node[parts[-1]] = value
    return root


def _indexed(node, where):
    if not isinstance(node, dict):
        raise Refused(f"{where}: a list must be sent as {where}.1, {where}.2, …")
    keys = sorted(node, key=lambda k: int(k) if k.isdigit() else -1)
    if any(not k.isdigit() for k in keys) or [int(k) for k in keys] != list(range(1, len(keys) + 1)):
        raise Refused(f"{where}: list indexes must be 1…n, got {', '.join(node)}")
    return [node[k] for k in keys]


def _read(serializer, protocol, shape, node, where):
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(node, dict):
            raise Refused(f"{where}: {shape.name} is a structure, got a value")
        left = dict(node)
        value = {}
        for member, member_shape in shape.members.items():
            name = serializer._get_serialized_name(member_shape, member)
            if name in left:
                value[member] = _read(serializer, protocol, member_shape, left.pop(name), f"{where}.{name}".lstrip("."))
        if left:
            known = ", ".join(serializer._get_serialized_name(s, m) for m, s in shape.members.items())
            raise Refused(f"{where or shape.name}: unknown parameter(s) {', '.join(sorted(left))} (the model has: {known})")
        return value
    if kind == "list":
        if protocol == "ec2" or shape.serialization.get("flattened"):
            elements = node
            inner = where
        else:
            if node == "":
                return []
            name = shape.member.serialization.get("name", "member")
            if not isinstance(node, dict) or set(node) != {name}:
                raise Refused(f"{where}: a list must be sent as {where}.{name}.N")
            elements = node[name]
            inner = f"{where}.{name}"
        return [_read(serializer, protocol, shape.member, e, f"{inner}.{i}") for i, e in enumerate(_indexed(elements, inner), 1)]
    if kind == "map":
        entries = node if shape.serialization.get("flattened") else (node.get("entry") if isinstance(node, dict) and set(node) == {"entry"} else None)
        if entries is None:
            raise Refused(f"{where}: a map must be sent as {where}.entry.N.key/value")
        key_name = serializer._get_serialized_name(shape.key, "key")
        value_name = serializer._get_serialized_name(shape.value, "value")
        value = {}
        for i, entry in enumerate(_indexed(entries, f"{where}.entry"), 1):
            if not isinstance(entry, dict) or set(entry) != {key_name, value_name}:
                raise Refused(f"{where}.entry.{i}: needs exactly {key_name} and {value_name}")
            value[_read(serializer, protocol, shape.key, entry[key_name], where)] = _read(serializer, protocol, shape.value, entry[value_name], where)
        return value
    if isinstance(node, dict):
        raise Refused(f"{where}: {kind} expected, got a structure ({', '.join(node)})")
    if kind == "boolean":
        if node not in ("true", "false"):
            raise Refused(f"{where}: boolean must be true or false, got {node!r}")
        return node == "true"
    if kind in ("integer", "long"):
        try:
            return int(node)
        except ValueError:
            raise Refused(f"{where}: integer expected, got {node!r}") from None
    if kind in ("float", "double"):
        try:
            return float(node)
        except ValueError:
            raise Refused(f"{where}: number expected, got {node!r}") from None
    if kind == "timestamp":
        try:
            return datetime.datetime.fromisoformat(node.replace("Z", "+00:00"))
        except ValueError:
            raise Refused(f"{where}: ISO 8601 timestamp expected, got {node!r}") from None
    if kind == "blob":
        import base64
        try:
            return base64.b64decode(node, validate=True)
        except ValueError:
            raise Refused(f"{where}: base64 expected") from None
    return node


def _same(sent, rebuilt):
    """The request's parameters and botocore's rewrite of them: the same keys, the same values
    (timestamps as instants: `2026-01-02T03:04:05Z` and `…05.000Z` are one time)."""
    if set(sent) != set(rebuilt):
        return f"botocore writes {sorted(set(rebuilt) - set(sent))} and not {sorted(set(sent) - set(rebuilt))}"
    for key, value in sent.items():
        other = str(rebuilt[key])
        if value == other:
            continue
        try:
            a = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            b = datetime.datetime.fromisoformat(other.replace("Z", "+00:00"))
            if a == b:
                continue
        except ValueError:
            pass
        return f"{key}: sent {value!r}, botocore writes {other!r}"
    return None


def service_and_action(body):
    """("ec2" or "sts", action) for a request this module checks, else None."""
    params = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    name = _SERVICES.get(params.get("Version", ""))
    return (name, params["Action"]) if name and "Action" in params else None


def check(body):
    """None when AWS's model accepts the query request `body` (bytes), else why not: the
    operation, and the parameter at fault."""
    pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    params = dict(pairs)
    service = _service(params.get("Version", ""))
    if service is None or "Action" not in params:
        return None
    model, serializer = service
    action = params.pop("Action")
    params.pop("Version")
    if len(pairs) != len(params) + 2:
        return f"{action}: a parameter appears twice"
    try:
        operation = model.operation_model(action)
    except Exception:
        return f"{action}: no such operation in {model.service_name}'s model"
    try:
        shape = operation.input_shape
        value = _read(serializer, model.protocol, shape, _tree(params.items()), "") if shape is not None else {}
        if shape is None and params:
            raise Refused(f"takes no parameters, got {', '.join(params)}")
    except Refused as refused:
        return f"{action}: {refused}"
    report = ParamValidator().validate(value, shape) if shape is not None else None
    if report is not None and report.has_errors():
        return f"{action}: {report.generate_report()}"
    rebuilt = serializer.serialize_to_request(value, operation)["body"]
    rebuilt.pop("Action", None)
    rebuilt.pop("Version", None)
    difference = _same(params, rebuilt)
    return f"{action}: {difference}" if difference else None


def json_service_and_action(target):
    """("ssm", action) for a JSON-protocol request this module checks (by its X-Amz-Target), else None."""
    prefix, _, action = target.partition(".")
    name = _JSON_SERVICES.get(prefix)
    return (name, action) if name and action else None


def check_json(target, content_type, body):
    """None when AWS's model accepts the JSON-protocol request (its `X-Amz-Target` header,
    `Content-Type` header and body bytes), else why not."""
    prefix, _, action = target.partition(".")
    service = _service_named(_JSON_SERVICES.get(prefix))
    if service is None:
        return None
    model, serializer = service
    if model.metadata.get("targetPrefix") != prefix:
        return f"{target}: the model's target prefix is {model.metadata.get('targetPrefix')}"
    wanted = f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"
    if content_type.split(";")[0].strip().lower() != wanted:
        return f"{action}: Content-Type {content_type!r}; the model's protocol sends {wanted}"
    try:
        operation = model.operation_model(action)
    except Exception:
        return f"{action}: no such operation in {model.service_name}'s model"
    try:
        value = json.loads(body.decode("utf-8") if body else "{}")
    except ValueError as error:
        return f"{action}: the body is not JSON ({error})"
    if not isinstance(value, dict):
        return f"{action}: the body must be a JSON object"
    shape = operation.input_shape
    if shape is None:
        if value:
            return f"{action}: takes no parameters, got {', '.join(value)}"
        return None
    report = ParamValidator().validate(value, shape)
    if report.has_errors():
        return f"{action}: {report.generate_report()}"
    rebuilt = serializer.serialize_to_request(value, operation)
    if rebuilt["headers"].get("X-Amz-Target") != target:
        return f"{action}: botocore sends X-Amz-Target {rebuilt['headers'].get('X-Amz-Target')!r}, not {target!r}"
    again = json.loads(rebuilt["body"] or b"{}")
    if again != value:
        return f"{action}: botocore writes {json.dumps(again, sort_keys=True)}, the request is {json.dumps(value, sort_keys=True)}"
    return None
