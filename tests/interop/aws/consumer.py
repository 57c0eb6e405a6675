"""The real consumer of `credential_process` output: botocore, as every Python AWS tool uses it.

It resolves credentials for profile `latchkey` of AWS_CONFIG_FILE (whose `credential_process`
runs `latchkey aws credentials`), calls STS GetCallerIdentity at LATCHKEY_STS_ENDPOINT
LATCHKEY_SDK_CALLS times (default 1; botocore checks the credentials' expiry before each call
and runs `credential_process` again inside its refresh window), and, when LATCHKEY_DEMO_API_URL
is set, signs a GET to it with botocore's own SigV4 signer (service execute-api). Prints one JSON
object; crates/cli/tests/it/aws_consumer.rs starts it.
"""

import json
import os
import urllib.error
import urllib.request

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

region = os.environ.get("LATCHKEY_REGION", "us-east-1")
sdk_calls = int(os.environ.get("LATCHKEY_SDK_CALLS", "1"))
session = botocore.session.Session(profile="latchkey")
credentials = session.get_credentials()
sts = session.create_client(
    "sts", region_name=region, endpoint_url=os.environ["LATCHKEY_STS_ENDPOINT"]
)
for _ in range(sdk_calls):
    identity = sts.get_caller_identity()
frozen = credentials.get_frozen_credentials()
out = {
    "method": credentials.method,
    "sdk_calls": sdk_calls,
    "access_key_id": frozen.access_key,
    "arn": identity["Arn"],
    "account": identity["Account"],
}

demo_url = os.environ.get("LATCHKEY_DEMO_API_URL")
if demo_url:
    request = AWSRequest(method="GET", url=demo_url)
    SigV4Auth(frozen, "execute-api", region).add_auth(request)
    prepared = request.prepare()
    try:
        with urllib.request.urlopen(
            urllib.request.Request(prepared.url, headers=dict(prepared.headers))
        ) as response:
            out["demo_status"] = response.status
            out["demo_body"] = json.load(response)
    except urllib.error.HTTPError as error:
        out["demo_status"] = error.code
        out["demo_body"] = json.load(error)

print(json.dumps(out))
