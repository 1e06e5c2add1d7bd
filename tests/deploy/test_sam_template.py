"""deploy/template.yaml: valid SAM, clean under cfn-lint, least privilege for both triggers.

`sam validate` is what users run, but aws-sam-cli cannot join this project's lock (it
pins watchdog 4). So the template is translated offline with aws-sam-translator, as
`sam validate` does, and the CloudFormation it gives is linted with cfn-lint. When uv
can fetch aws-sam-cli, `sam validate --lint` runs too.

For the IAM and wiring checks, the translated template is resolved for given parameter
values: conditions evaluated, resources whose condition is false dropped, AWS::NoValue
removed, Ref/Sub of parameters substituted, and GetAtt kept as "<Logical.Attr>".
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from thumbsmith.service.keys import KeyMapper
from thumbsmith.tools import package

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "template.yaml"
PARAMS = {"BucketName": "photos"}
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
NO_VALUE = object()


class ManagedPolicies:
    """The translator asks IAM for managed policy ARNs by name; none is needed offline."""

    def load(self) -> dict[str, str]:
        return {}


def sam() -> dict[str, Any]:
    template: dict[str, Any] = yaml_parse(TEMPLATE.read_text())
    return template


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    template = sam()
    # `sam validate` replaces a local CodeUri with an S3 URI before translating, too.
    for function in ("ThumbnailFunction", "OriginFunction"):
        template["Resources"][function]["Properties"]["CodeUri"] = (
            "s3://artifacts-bucket/thumbsmith-lambda.zip"
        )
    old = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    try:
        out: dict[str, Any] = transform(template, {}, ManagedPolicies())
    finally:
        if old is None:
            os.environ.pop("AWS_DEFAULT_REGION")
        else:
            os.environ["AWS_DEFAULT_REGION"] = old
    plain: dict[str, Any] = json.loads(json.dumps(out))  # plain dicts and lists only
    return plain


# --- resolution -------------------------------------------------------------------------


def resolve(cfn: dict[str, Any], **overrides: str) -> dict[str, Any]:
    params = {k: str(v.get("Default", "")) for k, v in cfn["Parameters"].items()}
    params |= PARAMS | overrides | PSEUDO

    conditions: dict[str, bool] = {}

    def value(node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (value(x) for x in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                return params.get(arg, f"<{arg}>")
            if fn == "Fn::If":
                name, yes, no = arg
                return value(yes if cond(name) else no)
            if fn == "Fn::Equals":
                a, b = (value(x) for x in arg)
                return a == b
            if fn == "Fn::Not":
                return not value(arg[0])
            if fn == "Condition":
                return cond(arg)
            if fn == "Fn::GetAtt":
                target = arg if isinstance(arg, str) else ".".join(arg)
                return f"<{target}>"
            if fn == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(params.get(m[1], f"<{m[1]}>")), text)
        return {k: v for k, v in ((k, value(v)) for k, v in node.items()) if v is not NO_VALUE}

    def cond(name: str) -> bool:
        if name not in conditions:
            conditions[name] = bool(value(cfn["Conditions"][name]))
        return conditions[name]

    resources = {
        name: value(res)
        for name, res in cfn["Resources"].items()
        if "Condition" not in res or cond(res["Condition"])
    }
    return resources


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


def role_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    roles = of_type(resources, "AWS::IAM::Role")
    assert list(roles) == ["FunctionRole"], "the function's role is the only role"
    props = roles["FunctionRole"]["Properties"]
    assert props["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ]
    assert not of_type(resources, "AWS::IAM::Policy") and not of_type(
        resources, "AWS::IAM::ManagedPolicy"
    )
    statements = []
    for policy in props["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            assert st["Effect"] == "Allow"
            statements.append(st)
    return statements


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    pairs = set()
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        targets = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        for action in actions:
            for target in targets:
                assert "*" not in action, f"wildcard action {action}"
                assert target != "*" and not target.endswith(":*"), f"wildcard resource {target}"
                pairs.add((action, target))
    return pairs


S3_GRANTS = {
    ("s3:GetObject", "arn:aws:s3:::photos/images/*"),
    ("s3:ListBucket", "arn:aws:s3:::photos"),
    ("s3:ListBucket", "arn:aws:s3:::photos-output"),
    ("s3:PutObject", "arn:aws:s3:::photos-output/*"),
    ("s3:DeleteObject", "arn:aws:s3:::photos-output/*"),
    ("s3:GetObject", "arn:aws:s3:::photos-output/*"),
}
PREFIX_FILTER = {"S3Key": {"Rules": [{"Name": "prefix", "Value": "images/"}]}}


def assert_acyclic(resources: dict[str, Any]) -> None:
    """The classic SAM trap: bucket notification <-> function/queue policy."""

    def refs(node: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(node, list):
            for x in node:
                found |= refs(x)
        elif isinstance(node, dict):
            for k, v in node.items():
                if k == "Ref" and isinstance(v, str):
                    found.add(v)
                elif k == "Fn::GetAtt":
                    found.add(v[0] if isinstance(v, list) else v.split(".")[0])
                elif k == "Fn::Sub":
                    text = v if isinstance(v, str) else v[0]
                    found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                    found |= refs(v)
                else:
                    found |= refs(v)
        elif isinstance(node, str):
            found |= {m[1:-1].split(".")[0] for m in re.findall(r"<[A-Za-z0-9]+(?:\.\w+)?>", node)}
        return found

    graph = {}
    for name, res in resources.items():
        deps = refs(res.get("Properties", {}))
        depends_on = res.get("DependsOn", [])
        deps |= set([depends_on] if isinstance(depends_on, str) else depends_on)
        graph[name] = deps & set(resources)

    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 1:
            raise AssertionError("circular dependency: " + " -> ".join([*path, node]))
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in sorted(graph[node]):
            visit(nxt, [*path, node])
        state[node] = 2

    for name in graph:
        visit(name, [])


# --- tests ----------------------------------------------------------------------------


def test_function_as_the_issue_asks() -> None:
    props = sam()["Resources"]["ThumbnailFunction"]["Properties"]
    assert props["Handler"] == "thumbsmith.aws_lambda.handler"
    assert props["RecursiveLoop"] == "Terminate"
    assert props["CodeUri"] == f"../dist/{package.ZIP_NAME}"  # what `thumbsmith package` writes
    env = props["Environment"]["Variables"]
    assert {
        "THUMBSMITH_RENDITIONS",
        "THUMBSMITH_PREFIX",
        "THUMBSMITH_OUTPUT_BUCKET",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
    } <= set(env)
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "thumbsmith"
    params = sam()["Parameters"]
    assert params["MemorySize"]["Default"] == 1024  # the benchmark-backed default
    assert params["Architecture"]["AllowedValues"] == ["x86_64", "arm64"]
    assert set(params["PythonRuntime"]["AllowedValues"]) == {"python3.12", "python3.13"}
    assert set(params["Trigger"]["AllowedValues"]) == {"S3", "SQS"}
    assert params["GhostscriptLayerArn"]["Default"] == ""


def test_every_thumbsmith_variable_is_a_real_setting() -> None:
    """settings.load() refuses unknown THUMBSMITH_* variables, so a typo here would stop
    every invocation at start-up."""
    from thumbsmith import settings

    env = sam()["Resources"]["ThumbnailFunction"]["Properties"]["Environment"]["Variables"]
    names = {f.name for f in settings.fields()}
    for var in env:
        if var.startswith("THUMBSMITH_"):
            assert var[len("THUMBSMITH_") :].lower() in names, var


def test_cfn_lint_is_clean(cfn: dict[str, Any]) -> None:
    args = ManualArgs(regions=["us-east-1"])
    translated = lint(json.dumps(cfn), config=args)
    assert not translated, "\n".join(str(m) for m in translated)
    # cfn-lint also runs the SAM transform itself on the source template.
    source = lint(TEMPLATE.read_text(), config=copy.deepcopy(args))
    assert not source, "\n".join(str(m) for m in source)


def test_direct_s3_trigger(cfn: dict[str, Any]) -> None:
    res = resolve(cfn, Trigger="S3")
    assert_acyclic(res)
    assert not {"Queue", "DeadLetterQueue", "QueuePolicy", "QueueMapping"} & set(res)
    assert grants(role_statements(res)) == S3_GRANTS

    notify = res["SourceBucket"]["Properties"]["NotificationConfiguration"]
    assert "QueueConfigurations" not in notify
    lambdas = notify["LambdaConfigurations"]
    assert {c["Event"] for c in lambdas} == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
    for c in lambdas:
        assert c["Filter"] == PREFIX_FILTER
        assert c["Function"] == "<ThumbnailFunction.Arn>"

    perm = res["InvokePermission"]["Properties"]
    assert perm["Principal"] == "s3.amazonaws.com"
    assert perm["SourceArn"] == "arn:aws:s3:::photos"  # constructed: no cycle via the bucket
    assert perm["SourceAccount"] == "123456789012"
    assert res["SourceBucket"]["Properties"]["Tags"][0]["Value"] == "<InvokePermission>"


def test_queued_trigger_with_partial_failures_and_dlq(cfn: dict[str, Any]) -> None:
    res = resolve(cfn, Trigger="SQS")
    assert_acyclic(res)
    assert "InvokePermission" not in res
    assert not of_type(res, "AWS::Lambda::Permission")
    assert grants(role_statements(res)) == S3_GRANTS | {
        ("sqs:ReceiveMessage", "<Queue.Arn>"),
        ("sqs:DeleteMessage", "<Queue.Arn>"),
        ("sqs:GetQueueAttributes", "<Queue.Arn>"),
    }

    notify = res["SourceBucket"]["Properties"]["NotificationConfiguration"]
    assert "LambdaConfigurations" not in notify
    queues = notify["QueueConfigurations"]
    assert {c["Event"] for c in queues} == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
    for c in queues:
        assert c["Filter"] == PREFIX_FILTER
        assert c["Queue"] == "<Queue.Arn>"
    assert res["SourceBucket"]["Properties"]["Tags"][0]["Value"] == "<QueuePolicy>"

    redrive = res["Queue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == "<DeadLetterQueue.Arn>"
    assert int(redrive["maxReceiveCount"]) >= 1
    mappings = of_type(res, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 1
    mapping = next(iter(mappings.values()))["Properties"]
    assert mapping["EventSourceArn"] == "<Queue.Arn>"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert int(res["Queue"]["Properties"]["VisibilityTimeout"]) >= int(
        res["ThumbnailFunction"]["Properties"]["Timeout"]
    )

    policy = res["QueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert len(policy) == 1
    st = policy[0]
    assert st["Principal"] == {"Service": "s3.amazonaws.com"}
    assert st["Action"] == "sqs:SendMessage" and st["Resource"] == "<Queue.Arn>"
    assert st["Condition"]["ArnLike"]["aws:SourceArn"] == "arn:aws:s3:::photos"
    assert st["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_events_permission_only_with_a_bus(cfn: dict[str, Any]) -> None:
    without = resolve(cfn)
    assert not any(a.startswith("events:") for a, _ in grants(role_statements(without)))
    env = without["ThumbnailFunction"]["Properties"]["Environment"]["Variables"]
    assert "THUMBSMITH_NOTIFY_EVENTBRIDGE_BUS" not in env

    res = resolve(cfn, NotifyEventBridgeBus="app-events")
    assert grants(role_statements(res)) == S3_GRANTS | {
        ("sqs:ReceiveMessage", "<Queue.Arn>"),
        ("sqs:DeleteMessage", "<Queue.Arn>"),
        ("sqs:GetQueueAttributes", "<Queue.Arn>"),
        ("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/app-events"),
    }
    env = res["ThumbnailFunction"]["Properties"]["Environment"]["Variables"]
    assert env["THUMBSMITH_NOTIFY_EVENTBRIDGE_BUS"] == "app-events"


def test_output_bucket_is_derived_and_settings_agree(cfn: dict[str, Any]) -> None:
    res = resolve(cfn, BucketName="holiday-pics")
    assert res["SourceBucket"]["Properties"]["BucketName"] == "holiday-pics"
    assert res["OutputBucket"]["Properties"]["BucketName"] == "holiday-pics-output"
    fn = res["ThumbnailFunction"]["Properties"]
    assert fn["Environment"]["Variables"]["THUMBSMITH_OUTPUT_BUCKET"] == "holiday-pics-output"
    assert fn["Layers"] == []
    with_gs = resolve(cfn, GhostscriptLayerArn="arn:aws:lambda:us-east-1:1:layer:gs:3")
    assert with_gs["ThumbnailFunction"]["Properties"]["Layers"] == [
        "arn:aws:lambda:us-east-1:1:layer:gs:3"
    ]
    for bucket in ("SourceBucket", "OutputBucket"):
        block = res[bucket]["Properties"]["PublicAccessBlockConfiguration"]
        assert all(block.values())


def test_batch_operations_role_is_optional_and_least_privilege(cfn: dict[str, Any]) -> None:
    assert "BatchOperationsRole" not in resolve(cfn)  # off by default
    assert cfn["Outputs"]["FunctionArn"]["Value"] == {"Fn::GetAtt": ["ThumbnailFunction", "Arn"]}

    res = resolve(cfn, BatchBucket="photos-batch")
    assert_acyclic(res)
    role = res["BatchOperationsRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "batchoperations.s3.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    statements = [st for p in role["Policies"] for st in p["PolicyDocument"]["Statement"]]
    assert all(st["Effect"] == "Allow" for st in statements)
    assert grants(statements) == {
        ("lambda:InvokeFunction", "<ThumbnailFunction.Arn>"),
        ("s3:GetObject", "arn:aws:s3:::photos-batch/*"),
        ("s3:GetObjectVersion", "arn:aws:s3:::photos-batch/*"),
        ("s3:PutObject", "arn:aws:s3:::photos-batch/*"),
        ("s3:GetBucketLocation", "arn:aws:s3:::photos-batch"),
    }
    # The function's own grants do not grow: Batch invokes it like any other trigger.
    fn_role = {k: v for k, v in res.items() if k != "BatchOperationsRole"}
    assert grants(role_statements(fn_role)) == S3_GRANTS | {
        ("sqs:ReceiveMessage", "<Queue.Arn>"),
        ("sqs:DeleteMessage", "<Queue.Arn>"),
        ("sqs:GetQueueAttributes", "<Queue.Arn>"),
    }


def test_sam_validate_lint() -> None:
    """The real `sam validate --lint`, when aws-sam-cli can be had (sam on PATH, or uv's
    tool runner: aws-sam-cli pins watchdog 4, so it cannot join our lock)."""
    if shutil.which("sam"):
        cmd = ["sam"]
    elif shutil.which("uv"):
        cmd = ["uv", "tool", "run", "--from", "aws-sam-cli==1.170.0", "sam"]
    else:
        pytest.skip("neither sam nor uv is available")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAM_CLI_TELEMETRY": "0",
    }
    try:
        # Installing aws-sam-cli (uv tool run) is the step that may fail for reasons of this
        # machine, not of the template: skip then, but never when validate fails.
        version = subprocess.run(
            [*cmd, "--version"], env=env, capture_output=True, text=True, timeout=240, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.skip("aws-sam-cli could not be installed in time")
    if version.returncode != 0:
        pytest.skip(f"aws-sam-cli unavailable: {version.stderr.strip()[:300]}")
    proc = subprocess.run(
        [*cmd, "validate", "--lint", "--region", "us-east-1", "-t", str(TEMPLATE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "is a valid SAM Template" in proc.stdout + proc.stderr


# --- on demand behind CloudFront (EnableOnDemand) ----------------------------------------

ONDEMAND = {
    "Distribution", "OriginFunction", "OriginFunctionRole", "OriginFunctionUrl",
    "OriginFunctionUrlPermission", "OriginFunctionInvokePermission", "BucketAccessControl",
    "FunctionAccessControl", "OutputBucketPolicy", "EdgeFunction", "CachePolicy",
    "OriginRequestPolicy", "ResponseHeadersPolicy", "AutoResponseHeadersPolicy",
}  # fmt: skip
DISTRIBUTION_ARN = "arn:aws:cloudfront::123456789012:distribution/<Distribution>"
#: The settings the origin helper (branch origin) reads: THUMBSMITH_ORIGIN_* + upper.
ORIGIN_SETTINGS = {
    "origin_signing_keys", "origin_key_template", "origin_max_side", "origin_max_pixels",
    "origin_max_quality", "origin_formats", "origin_auto_order", "origin_cache_control",
    "origin_render_timeout", "origin_queue", "origin_widths", "origin_bucket",
}  # fmt: skip


def ondemand(cfn: dict[str, Any], **overrides: str) -> dict[str, Any]:
    res = resolve(cfn, EnableOnDemand="true", **overrides)
    assert_acyclic(res)
    return res


def test_ondemand_is_off_by_default(cfn: dict[str, Any]) -> None:
    res = resolve(cfn)
    assert not ONDEMAND & set(res)
    assert "LifecycleConfiguration" not in res["OutputBucket"]["Properties"]
    assert not of_type(res, "AWS::S3::BucketPolicy")


def test_origin_group_bucket_first_then_the_function(cfn: dict[str, Any]) -> None:
    res = ondemand(cfn)
    assert set(res) >= ONDEMAND
    config = res["Distribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    (group,) = config["OriginGroups"]["Items"]
    assert config["OriginGroups"]["Quantity"] == 1
    members = [m["OriginId"] for m in group["Members"]["Items"]]
    assert members == ["output-bucket", "origin-function"] and group["Members"]["Quantity"] == 2
    codes = group["FailoverCriteria"]["StatusCodes"]
    assert sorted(codes["Items"]) == [403, 404, 500, 502, 503, 504] and codes["Quantity"] == 6

    bucket, function = origins["output-bucket"], origins["origin-function"]
    assert bucket["DomainName"] == "<OutputBucket.RegionalDomainName>"
    assert bucket["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the old OAI
    assert bucket["OriginAccessControlId"] == "<BucketAccessControl.Id>"
    assert function["OriginAccessControlId"] == "<FunctionAccessControl.Id>"
    assert function["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert function["DomainName"] == {
        "Fn::Select": [2, {"Fn::Split": ["/", "<OriginFunctionUrl.FunctionUrl>"]}]
    }
    for name, kind in (("BucketAccessControl", "s3"), ("FunctionAccessControl", "lambda")):
        oac = res[name]["Properties"]["OriginAccessControlConfig"]
        assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == (kind, "always")
    url = res["OriginFunctionUrl"]["Properties"]
    assert url["AuthType"] == "AWS_IAM" and url["TargetFunctionArn"] == "<OriginFunction.Arn>"
    assert "OriginShield" not in bucket and "OriginShield" not in function

    shielded = ondemand(cfn, OriginShieldRegion="eu-west-1")
    for origin in shielded["Distribution"]["Properties"]["DistributionConfig"]["Origins"]:
        assert origin["OriginShield"] == {"Enabled": True, "OriginShieldRegion": "eu-west-1"}


def test_every_behavior_runs_the_edge_function_and_keys_on_the_uri(cfn: dict[str, Any]) -> None:
    res = ondemand(cfn)
    config = res["Distribution"]["Properties"]["DistributionConfig"]
    behaviors = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    assert [b.get("PathPattern") for b in behaviors] == [None, "img/*"]
    for b in behaviors:
        assert b["TargetOriginId"] == "bucket-then-function"
        assert b["Compress"] is False  # images are compressed already
        assert b["CachePolicyId"] == "<CachePolicy>"
        assert b["OriginRequestPolicyId"] == "<OriginRequestPolicy>"
        assert b["AllowedMethods"] == ["GET", "HEAD"]
        assert b["FunctionAssociations"] == [
            {
                "EventType": "viewer-request",
                "FunctionARN": "<EdgeFunction.FunctionMetadata.FunctionARN>",
            }
        ]
    assert behaviors[0]["ResponseHeadersPolicyId"] == "<ResponseHeadersPolicy>"
    assert behaviors[1]["ResponseHeadersPolicyId"] == "<AutoResponseHeadersPolicy>"

    key = res["CachePolicy"]["Properties"]["CachePolicyConfig"]
    params = key["ParametersInCacheKeyAndForwardedToOrigin"]
    assert params == {
        "EnableAcceptEncodingGzip": False,
        "EnableAcceptEncodingBrotli": False,
        "QueryStringsConfig": {"QueryStringBehavior": "none"},
        "HeadersConfig": {"HeaderBehavior": "none"},
        "CookiesConfig": {"CookieBehavior": "none"},
    }
    forwarded = res["OriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    assert forwarded["HeadersConfig"] == {
        "HeaderBehavior": "whitelist",
        "Headers": ["x-thumbsmith-edge"],
    }
    assert forwarded["QueryStringsConfig"] == {"QueryStringBehavior": "none"}

    def headers(policy: str) -> list[dict[str, Any]]:
        config = res[policy]["Properties"]["ResponseHeadersPolicyConfig"]
        items: list[dict[str, Any]] = config.get("CustomHeadersConfig", {}).get("Items", [])
        return items

    assert headers("AutoResponseHeadersPolicy") == [
        {"Header": "Vary", "Value": "Accept", "Override": True}
    ]
    assert headers("ResponseHeadersPolicy") == []  # a pre-made key never varies

    edge = res["EdgeFunction"]["Properties"]
    assert edge["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0" and edge["AutoPublish"]


def test_lifecycle_rule_can_never_sweep_a_premade_key(cfn: dict[str, Any]) -> None:
    from thumbsmith.core.spec import parse_spec
    from thumbsmith.service.ondemand.origin import ONDEMAND_TAGS

    res = ondemand(cfn)
    (rule,) = res["OutputBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["Prefix"] == "_ondemand/"
    # No wider filter: the prefix and the tag the origin gives ad-hoc results, both.
    assert set(rule) == {"Id", "Status", "Prefix", "TagFilters", "ExpirationInDays"}
    assert rule["TagFilters"] == [{"Key": k, "Value": v} for k, v in ONDEMAND_TAGS.items()]
    # Pre-made keys start with a rendition name (the stack keeps the default template), and
    # a rendition name cannot start with "_".
    assert sam()["Parameters"].get("KeyTemplate") is None
    with pytest.raises(Exception, match="names use letters"):
        parse_spec("_ondemand=100")
    keys = KeyMapper("images/", "{bucket}-output", "{rendition}/{key}.{ext}", ("a", "Z9", "m"))
    for name in ("a", "Z9", "manifest", "failed"):
        assert not keys.output_key("photos", "images/_ondemand/x.jpg", name).startswith(
            "_ondemand/"
        )
    pattern = re.compile(sam()["Parameters"]["OnDemandKeyTemplate"]["AllowedPattern"])
    assert pattern.match("_ondemand/{key}/{id}.{ext}")
    assert not pattern.match("large/{key}/{id}.{ext}") and not pattern.match("_ondemand/{id}")


def test_ondemand_least_privilege(cfn: dict[str, Any]) -> None:
    res = ondemand(cfn)
    role = res["OriginFunctionRole"]["Properties"]
    statements = [st for p in role["Policies"] for st in p["PolicyDocument"]["Statement"]]
    assert all(st["Effect"] == "Allow" for st in statements)
    assert grants(statements) == {
        ("s3:GetObject", "arn:aws:s3:::photos/images/*"),
        ("s3:ListBucket", "arn:aws:s3:::photos"),
        ("s3:ListBucket", "arn:aws:s3:::photos-output"),
        ("s3:GetObject", "arn:aws:s3:::photos-output/*"),
        ("s3:PutObject", "arn:aws:s3:::photos-output/*"),
        ("s3:PutObjectTagging", "arn:aws:s3:::photos-output/*"),
    }
    # The pre-generating function's grants do not grow.
    fn_only = {k: v for k, v in res.items() if k != "OriginFunctionRole"}
    assert grants(role_statements(fn_only)) == S3_GRANTS | {
        ("sqs:ReceiveMessage", "<Queue.Arn>"),
        ("sqs:DeleteMessage", "<Queue.Arn>"),
        ("sqs:GetQueueAttributes", "<Queue.Arn>"),
    }
    (bucket_st,) = res["OutputBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert bucket_st["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert (bucket_st["Effect"], bucket_st["Action"]) == ("Allow", "s3:GetObject")  # no List
    assert bucket_st["Resource"] == "arn:aws:s3:::photos-output/*"
    assert bucket_st["Condition"] == {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}}
    perms = {k: v["Properties"] for k, v in of_type(res, "AWS::Lambda::Permission").items()}
    assert {p["Action"] for p in perms.values()} == {
        "lambda:InvokeFunctionUrl",
        "lambda:InvokeFunction",
    }
    for p in perms.values():
        assert p["Principal"] == "cloudfront.amazonaws.com" and p["SourceArn"] == DISTRIBUTION_ARN
        assert p["FunctionName"] == "<OriginFunction>"
    assert perms["OriginFunctionUrlPermission"]["FunctionUrlAuthType"] == "AWS_IAM"
    assert perms["OriginFunctionInvokePermission"]["InvokedViaFunctionUrl"] is True


def test_origin_function_settings(cfn: dict[str, Any]) -> None:
    from thumbsmith import settings

    res = ondemand(cfn, SigningKeys="k2,k1", OnDemandReservedConcurrency="25")
    fn = res["OriginFunction"]["Properties"]
    thumb = res["ThumbnailFunction"]["Properties"]
    source = sam()["Resources"]
    assert fn["Handler"] == thumb["Handler"] == "thumbsmith.aws_lambda.handler"
    assert (
        source["OriginFunction"]["Properties"]["CodeUri"]
        == source["ThumbnailFunction"]["Properties"]["CodeUri"]
    )
    assert (fn["MemorySize"], fn["Timeout"], fn["ReservedConcurrentExecutions"]) == (
        "1769",
        "30",
        "25",
    )
    assert "ReservedConcurrentExecutions" not in ondemand(cfn)["OriginFunction"]["Properties"]
    env = fn["Environment"]["Variables"]
    assert env["THUMBSMITH_ORIGIN_SIGNING_KEYS"] == "k2,k1"
    assert env["THUMBSMITH_OUTPUT_BUCKET"] == "photos-output"
    # The origin reads its sources from the stack's bucket, which no request names.
    assert env["THUMBSMITH_ORIGIN_BUCKET"] == "photos"
    names = {f.name for f in settings.fields()}
    if any(n.startswith("origin_") for n in names):  # once the origin's settings exist
        assert names >= ORIGIN_SETTINGS
    for var in env:
        if var.startswith("THUMBSMITH_"):
            assert var[len("THUMBSMITH_") :].lower() in names | ORIGIN_SETTINGS, var
    assert sam()["Parameters"]["SigningKeys"]["NoEcho"] is True


def test_edge_function_fits_with_the_longest_parameters(cfn: dict[str, Any]) -> None:
    """CloudFront refuses a function over 10 KB: the code with every parameter that
    reaches it at its longest still fits."""
    params = sam()["Parameters"]
    longest = {
        name: "x" * int(spec["MaxLength"])
        if "MaxLength" in spec
        else str(spec.get("MaxValue", spec.get("Default", "")))
        for name, spec in params.items()
    }
    longest |= {
        "BucketName": "x" * 56,
        "OnDemandFormats": "jpeg,webp,avif,png",
        "OnDemandAutoOrder": "avif,webp,jpeg,png",
    }
    longest["EnableOnDemand"] = "true"
    code = resolve(cfn, **longest)["EdgeFunction"]["Properties"]["FunctionCode"]
    assert "${" not in code
    assert len(code.encode()) <= 10 * 1024, len(code.encode())
    assert TEMPLATE.stat().st_size < 51_200  # what CloudFormation takes without S3
