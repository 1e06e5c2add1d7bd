"""`thumbsmith package`: the Lambda zip for x86_64 and arm64, checked from the outside.

Each zip is built once per module. The x86_64 one is then extracted and its handler run
under a *different* interpreter (Python 3.12, isolated, no site-packages) against a moto
S3 server, with boto3 coming from a separate folder as the Lambda runtime provides it.
That proves the zip is self-contained. uv's own cache keeps the wheels between runs.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import stat
import subprocess
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from support.helpers import CORPUS
from support.moto_server import moto_server
from thumbsmith.tools import package
from thumbsmith.tools.package import BuildResult, PackageError, build_zip

REPO = Path(__file__).resolve().parents[2]
SAMPLE = CORPUS / "sharp__Landscape_6.jpg"
PY312 = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")
EXPECTED_MACHINE = {"x86_64": 62, "arm64": 183}
MIB = 1024 * 1024


# --- builds, once per module ---------------------------------------------------------------


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], BuildResult]:
    cache: dict[str, BuildResult] = {}

    def get(arch: str) -> BuildResult:
        if arch not in cache:
            cache[arch] = build_zip(arch, "3.12", tmp_path_factory.mktemp(f"dist-{arch}"))
        return cache[arch]

    return get


def lock_pins() -> dict[str, str]:
    """The lock's pins, read independently of package.py (only the markerless ones and
    the markers that hold on Linux CPython matter here)."""
    out = subprocess.run(
        ["uv", "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pins = {}
    for line in out.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            spec = line.split(";")[0].strip()
            name, version = spec.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def dist_versions(zf: zipfile.ZipFile) -> dict[str, str]:
    versions = {}
    for name in zf.namelist():
        if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
            headers = zf.read(name).decode().split("\n\n", 1)[0].splitlines()
            fields = dict(h.split(": ", 1) for h in headers if ": " in h)
            versions[fields["Name"].lower().replace("_", "-")] = fields["Version"]
    return versions


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_zip_is_within_limits_for_the_target_and_matches_the_lock(
    builds: Callable[[str], BuildResult], arch: str
) -> None:
    result = builds(arch)
    path = result.zip_path
    assert path.name == "thumbsmith-lambda.zip"
    zipped = path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        unzipped = sum(i.file_size for i in infos)
        assert zipped <= 50 * MIB, f"{zipped / MIB:.1f} MiB zipped"
        assert unzipped <= 250 * MIB, f"{unzipped / MIB:.1f} MiB unzipped"
        assert (zipped, unzipped) == (result.zipped_bytes, result.unzipped_bytes)
        print(f"{arch}: {zipped / MIB:.1f} MiB zipped, {unzipped / MIB:.1f} MiB unzipped")

        elf = 0
        for info in infos:
            mode = info.external_attr >> 16
            assert not stat.S_ISLNK(mode), f"symlink {info.filename}"
            assert stat.S_ISREG(mode), f"{info.filename} is not a regular file"
            assert "__pycache__" not in info.filename
            assert not info.filename.endswith((".pyc", ".pyo")), info.filename
            assert not info.filename.startswith(("bin/", "/")) and ".." not in info.filename
            head = zf.read(info)[:20] if info.file_size >= 20 else b""
            if head[:4] == b"\x7fELF":
                elf += 1
                machine = int.from_bytes(head[18:20], "little")
                assert machine == EXPECTED_MACHINE[arch], f"{info.filename}: e_machine {machine}"
            if ".cpython-" in info.filename and info.filename.endswith(".so"):
                assert ".cpython-312-" in info.filename, info.filename
        assert elf >= 5  # libvips, Pillow, libheif, cffi, ... are all there

        names = set(zf.namelist())
        assert "thumbsmith/__init__.py" in names
        assert "pyvips/__init__.py" in names
        assert not any(n.startswith(("boto3/", "botocore/", "s3transfer/")) for n in names)
        # The build tooling stays home: no shipped module reads uv.lock or writes zips.
        ours = [n for n in names if n.startswith("thumbsmith/") and n.endswith(".py")]
        assert "thumbsmith/aws_lambda.py" in ours
        assert not any(n.startswith("thumbsmith/tools/") for n in ours)
        local_only = tuple(f"thumbsmith/{part}" for part in package.LOCAL_ONLY_MODULES)
        assert local_only and not any(n.startswith(local_only) for n in ours)
        for module in ours:
            source = zf.read(module).decode()
            assert "uv.lock" not in source and "ZipFile(" not in source, module
        build_info = json.loads(zf.read(package.BUILD_INFO))
        assert build_info["arch"] == arch and build_info["python"] == "3.12"

        versions = dist_versions(zf)
    pins = lock_pins()
    for name, version in versions.items():
        if name == "thumbsmith":
            continue
        assert pins.get(name) == version, f"{name}=={version} in zip, lock pins {pins.get(name)}"
    # Runtime-provided boto3 stays out with the packages only it needs; jmespath stays
    # because aws-lambda-powertools imports it.
    assert "jmespath" in versions and "aws-lambda-powertools" in versions
    assert not {"boto3", "botocore", "s3transfer", "urllib3", "python-dateutil"} & set(versions)
    assert {"pyvips", "pyvips-binary", "pillow", "pillow-heif", "cffi"} <= set(versions)
    # The origin app answers function-URL events through Mangum; nothing listens, so
    # no HTTP server (nor what only it needs).
    assert {"starlette", "anyio", "mangum"} <= set(versions)
    assert not {"uvicorn", "h11", "click"} & set(versions)
    assert {"thumbsmith/http/origin/app.py", "thumbsmith/runners/function_url.py"} <= names


# --- the zip, run as Lambda would run it --------------------------------------------------


def python312() -> str:
    if PY312.is_file():
        return str(PY312)
    found = subprocess.run(
        ["uv", "python", "find", "--no-python-downloads", "3.12"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode == 0 and found.stdout.strip():
        return found.stdout.strip()
    pytest.skip("no Python 3.12 interpreter to run the zip under")


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def s3_put_event(bucket: str, key_in_event: str, size: int, etag: str) -> dict[str, Any]:
    """An S3 Put notification in AWS's exact shape (from tests/events/s3-put.json)."""
    sample = json.loads((REPO / "tests" / "events" / "s3-put.json").read_text())
    record = sample["Records"][0]
    record["s3"]["bucket"] = {
        "name": bucket,
        "ownerIdentity": {"principalId": "EXAMPLE"},
        "arn": f"arn:aws:s3:::{bucket}",
    }
    record["s3"]["object"].update({"key": key_in_event, "size": size, "eTag": etag})
    return {"Records": [record]}


def function_url_event(raw_path: str, query: str) -> dict[str, Any]:
    """A function-URL GET in AWS's shape (from tests/events/function-url-get.json)."""
    event: dict[str, Any] = json.loads(
        (REPO / "tests" / "events" / "function-url-get.json").read_text()
    )
    event["rawPath"] = event["requestContext"]["http"]["path"] = raw_path
    event["rawQueryString"] = query
    event.pop("queryStringParameters", None)  # what it holds is read from rawQueryString
    return event


def sqs_event(body: dict[str, Any]) -> dict[str, Any]:
    """An SQS batch of one message in AWS's exact shape (from tests/events/sqs-s3.json)."""
    sample = json.loads((REPO / "tests" / "events" / "sqs-s3.json").read_text())
    record = sample["Records"][0]
    record["body"] = json.dumps(body)
    record.pop("md5OfBody", None)
    return {"Records": [record]}


RUNNER = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
events = json.loads(sys.argv[2])

class Context:  # the attributes of the context object Lambda passes
    function_name = "thumbsmith"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:thumbsmith"
    memory_limit_in_mb = 1769
    aws_request_id = "00000000-0000-0000-0000-000000000001"
    log_group_name = "/aws/lambda/thumbsmith"
    log_stream_name = "test"
    def get_remaining_time_in_millis(self):
        return 300000

import thumbsmith.aws_lambda as m
assert m.__file__.startswith(json.loads(sys.argv[1])[0]), m.__file__
import importlib.util, pyvips, PIL, starlette, mangum
for mod in (pyvips, PIL, starlette, mangum):
    assert mod.__file__.startswith(json.loads(sys.argv[1])[0]), mod.__file__
assert importlib.util.find_spec("uvicorn") is None  # the function never listens
for event in events:
    print("RESULT " + json.dumps(m.handler(event, Context()), default=str))
"""


def test_handler_runs_from_the_extracted_zip_under_python312(
    builds: Callable[[str], BuildResult],
    moto_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    if not SAMPLE.is_file():
        pytest.skip(f"sample image {SAMPLE} not found")
    py = python312()
    result = builds("x86_64")

    work = tmp_path_factory.mktemp("lambda")
    task = work / "task"
    with zipfile.ZipFile(result.zip_path) as zf:
        zf.extractall(task)
    # /var/task is read-only on Lambda; so is this, so nothing may write next to itself.
    for path in [task, *task.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)

    # The runtime's own boto3, at the lock's versions, for Python 3.12.
    pins = lock_pins()
    runtime = work / "runtime"
    wanted = ["boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"]
    subprocess.run(
        ["uv", "pip", "install", "--quiet", "--no-deps", "--target", str(runtime),
         "--python", py, *[f"{n}=={pins[n]}" for n in wanted]],
        check=True,
    )  # fmt: skip

    s3 = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="photos")
    s3.create_bucket(Bucket="photos-output")
    data = SAMPLE.read_bytes()
    direct_key, queued_key = "images/sharp Landscape 6.jpg", "images/queued/6.jpg"
    etags = {
        key: s3.put_object(Bucket="photos", Key=key, Body=data)["ETag"].strip('"')
        for key in (direct_key, queued_key)
    }
    # Rendered on request only, through the function URL (no event names it).
    ondemand_key = "images/on demand.jpg"
    s3.put_object(Bucket="photos", Key=ondemand_key, Body=data)
    # S3 URL-encodes keys in notifications, spaces as '+'.
    events = [
        s3_put_event("photos", "images/sharp+Landscape+6.jpg", len(data), etags[direct_key]),
        sqs_event(s3_put_event("photos", queued_key, len(data), etags[queued_key])),
        function_url_event("/img/images/on%20demand.jpg", "p=medium"),
        function_url_event("/medium/images/on%20demand.jpg.jpg", ""),
    ]

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "TMPDIR": str(work),
        "LAMBDA_TASK_ROOT": str(task),
        "AWS_LAMBDA_FUNCTION_NAME": "thumbsmith",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto_url,
        # As deploy/template.yaml sets them.
        "THUMBSMITH_RENDITIONS": "large=1280,medium=300,thumb=160",
        "THUMBSMITH_PREFIX": "images/",
        "THUMBSMITH_OUTPUT_BUCKET": "photos-output",
        "THUMBSMITH_ORIGIN_BUCKET": "photos",
        "POWERTOOLS_SERVICE_NAME": "thumbsmith",
        "POWERTOOLS_METRICS_NAMESPACE": "thumbsmith",
    }
    proc = subprocess.run(
        [py, "-S", "-I", "-c", RUNNER, json.dumps([str(task), str(runtime)]), json.dumps(events)],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    answers = [
        json.loads(x[len("RESULT ") :]) for x in proc.stdout.splitlines() if x.startswith("RESULT ")
    ]
    assert len(answers) == 4, proc.stdout[-3000:] + proc.stderr[-3000:]
    direct, queued, miss, hit = answers
    assert direct.get("verdict", "done") == "done" and not direct.get("permanent_failures"), direct
    assert queued == {"batchItemFailures": []}, queued

    from PIL import Image

    # The origin app answered from the zip: rendered, then served from the bucket.
    for answer, cache in ((miss, "MISS"), (hit, "HIT")):
        assert answer["statusCode"] == 200 and answer["isBase64Encoded"], answer
        assert answer["headers"]["x-thumbsmith-cache"] == cache
        with Image.open(io.BytesIO(base64.b64decode(answer["body"]))) as img:
            assert (img.format, img.size) == ("JPEG", (300, 225))
    assert base64.b64decode(miss["body"]) == (
        s3.get_object(Bucket="photos-output", Key=f"medium/{ondemand_key}.jpg")["Body"].read()
    )

    listed = s3.list_objects_v2(Bucket="photos-output").get("Contents", [])
    sizes: dict[str, dict[str, tuple[int, int]]] = {direct_key: {}, queued_key: {}}
    for obj in listed:
        if obj["Key"].startswith("manifest/"):
            continue  # the manifest of each source, checked in tests/test_manifest.py
        rendition, _, rest = obj["Key"].partition("/")
        source = rest.removesuffix(".jpg")  # key_template "{rendition}/{key}.{ext}"
        if source == ondemand_key:
            continue  # checked above
        body = s3.get_object(Bucket="photos-output", Key=obj["Key"])["Body"].read()
        with Image.open(io.BytesIO(body)) as img:
            assert img.format == "JPEG"
            sizes[source][rendition] = img.size
    # Orientation 6: stored 450x600, upright 600x450; never upscaled past the source.
    expected = {"large": (600, 450), "medium": (300, 225), "thumb": (160, 120)}
    assert sizes == {direct_key: expected, queued_key: expected}


# --- failures are loud and write nothing ------------------------------------------------


def test_refuses_a_zip_over_the_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(package, "MAX_ZIPPED", 1 * MIB)
    out = tmp_path / "dist"
    from thumbsmith import cli

    assert cli.main(["package", "--arch", "arm64", "--python", "3.12", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "refusing to write a zip over Lambda's limits" in err and "zipped" in err
    assert not out.exists() or not any(out.iterdir())


def test_rejects_unknown_arch_and_python(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="arch"):
        build_zip("i386", "3.12", tmp_path)
    with pytest.raises(PackageError, match="python"):
        build_zip("x86_64", "3.9", tmp_path)


def test_version_drift_from_the_lock_fails_loudly() -> None:
    pins = [
        package.Pin("pyvips", "3.2.0", None),
        package.Pin("colorama", "0.4.6", "sys_platform == 'win32'"),
    ]
    assert package.check_versions({"pyvips": "3.2.0"}, pins, "x86_64", "3.12") == []
    # What --only-binary does to an sdist-only package: silently an ancient release.
    with pytest.raises(PackageError, match=r"pyvips: zip has 2\.1\.2, uv\.lock pins 3\.2\.0"):
        package.check_versions({"pyvips": "2.1.2"}, pins, "x86_64", "3.12")
    with pytest.raises(PackageError, match="not pinned"):
        package.check_versions({"pyvips": "3.2.0", "numpy": "2.0.0"}, pins, "x86_64", "3.12")
    with pytest.raises(PackageError, match="missing"):
        package.check_versions({}, pins, "x86_64", "3.12")


def test_native_checks() -> None:
    x86 = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + (62).to_bytes(2, "little")
    arm = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + (183).to_bytes(2, "little")
    assert package.elf_machine(x86) == 62 and package.elf_machine(arm) == 183
    assert package.elf_machine(b"#!/bin/sh\n" + b"\x00" * 10) is None
    ok = [("a.so", x86), ("_x.cpython-312-x86_64-linux-gnu.so", x86)]
    package.check_native(ok, "x86_64", "3.12")
    with pytest.raises(PackageError, match="e_machine 183"):
        package.check_native([("lib/a.so.1", arm)], "x86_64", "3.12")
    with pytest.raises(PackageError, match="cpython-313"):
        package.check_native([("_x.cpython-313-x86_64-linux-gnu.so", x86)], "x86_64", "3.12")


def test_boto3_family_is_left_to_the_runtime_but_powertools_deps_stay() -> None:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    without = package.runtime_closure(lock, include_boto3=False)
    assert "jmespath" in without and "typing-extensions" in without
    assert not {"boto3", "botocore", "s3transfer", "urllib3", "python-dateutil", "six"} & without
    with_boto3 = package.runtime_closure(lock, include_boto3=True)
    assert {"boto3", "botocore", "s3transfer", "urllib3"} <= with_boto3
    # The HTTP server is local only: never in the zip, nor what only it needs; the origin
    # app's Starlette and Mangum go in.
    assert not {"uvicorn", "h11", "click"} & (without | with_boto3)
    assert {"starlette", "anyio", "mangum"} <= without


def test_without_uv_it_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(PackageError, match="uv is not on PATH"):
        build_zip("x86_64", "3.12", tmp_path)
