"""AWS's own endpoint rules, run by botocore's own engine, for every region and variant.

    endpoint_peer.py [EXTRA_REGION ...]

Prints a JSON list of {service, region, fips, dualStack, url} for EC2, STS and SSM, for each region
that botocore's partitions.json lists (with the extra regions given, to try the partitions'
patterns), with FIPS and dual-stack off and on; url is null where the rules give an error.
Offline: the rule sets and partitions ship with botocore. `EndpointTests` compares Kiln's
`AWSPartition.endpoint` with every row.
"""
import gzip, itertools, json, os, sys
import botocore
from botocore.endpoint_provider import EndpointProvider
from botocore.loaders import create_loader
data = os.path.join(os.path.dirname(botocore.__file__), "data")
partitions = create_loader().load_data("partitions")
regions = sorted({r for p in partitions["partitions"] for r in p["regions"]} | set(sys.argv[1:]))
rows = []
for service, version in [("ec2", "2016-11-15"), ("sts", "2011-06-15"), ("ssm", "2014-11-06")]:
    ruleset = json.load(gzip.open(f"{data}/{service}/{version}/endpoint-rule-set-1.json.gz"))
    provider = EndpointProvider(ruleset, partitions)
    for region in regions:
        for fips, dual in itertools.product([False, True], [False, True]):
            params = {"Region": region, "UseFIPS": fips, "UseDualStack": dual}
            if service == "sts":
                params["UseGlobalEndpoint"] = False
            try:
                url = provider.resolve_endpoint(**params).url
            except Exception:
                url = None
            rows.append({"service": service, "region": region, "fips": fips, "dualStack": dual, "url": url})
print(json.dumps(rows))
