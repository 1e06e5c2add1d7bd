"""Build the AWS Lambda deployment zip: thumbsmith plus its locked dependencies.

The zip is assembled from manylinux_2_28 wheels for the *target* architecture and
Python, never from this machine's site-packages, so it can be built on any host. Every
step that could silently produce a zip that only fails on Lambda is checked here:

* versions: each ``*.dist-info`` in the zip must equal the pin in ``uv.lock``
  (``--only-binary`` resolvers can otherwise fall back to an ancient release);
* native code: every ELF file must be for the target machine, and every CPython
  extension module for the target Python;
* no symlinks and no ``.pyc`` (bytecode compiled by another interpreter is ignored at
  best and confusing at worst);
* Lambda's size limits, checked before the zip is moved into place.

Runs from a source checkout: it needs ``uv``, ``pyproject.toml`` and ``uv.lock``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ARCHES: Mapping[str, tuple[str, int]] = {
    # arch name as Lambda spells it -> (uv --python-platform, ELF e_machine)
    "x86_64": ("x86_64-manylinux_2_28", 62),
    "arm64": ("aarch64-manylinux_2_28", 183),
}
PYTHONS = ("3.12", "3.13")
_ELF_TRIPLET = {"x86_64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}

# Lambda's documented quotas, in the binary megabytes AWS uses for them.
MAX_ZIPPED = 50 * 1024 * 1024  # direct upload of a .zip
MAX_UNZIPPED = 250 * 1024 * 1024  # function code plus all its layers, extracted

ZIP_NAME = "thumbsmith-lambda.zip"
BUILD_INFO = "thumbsmith-build.json"
HANDLER_FILE = "thumbsmith/aws_lambda.py"

# The python3.12+ runtimes ship boto3 with these, so they stay out unless asked for.
# Their own dependencies (urllib3, python-dateutil, six) drop out with them, because only
# packages reachable from thumbsmith without passing through these are kept; jmespath
# stays, since aws-lambda-powertools needs it too.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})

# The function never listens: a function URL hands it requests as events, which Mangum
# gives the origin's Starlette app (Starlette, anyio and Mangum ship). The HTTP server
# stays out, and its own dependencies (h11, click, …) with it unless something else
# needs them.
LOCAL_ONLY = frozenset({"uvicorn"})

# Packages that publish only an sdist and may be built here. Allowed only because the
# wheel they build is pure Python (checked below): a native build would be for the host.
SDIST_ALLOWED = frozenset({"pyvips"})

_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same inputs give a byte-identical zip


class PackageError(RuntimeError):
    """The zip cannot be built, or would not work on Lambda; the message says why."""


@dataclass(frozen=True)
class Pin:
    name: str  # normalised (PEP 503)
    version: str
    marker: str | None


@dataclass(frozen=True)
class BuildResult:
    zip_path: Path
    arch: str
    python: str
    zipped_bytes: int
    unzipped_bytes: int
    files: int
    versions: Mapping[str, str]  # normalised distribution name -> version in the zip
    warnings: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        lines = [
            f"wrote {self.zip_path} ({self.arch}, python{self.python}, {self.files} files)",
            f"  zipped:   {_mb(self.zipped_bytes)} of {_mb(MAX_ZIPPED)} allowed for direct upload",
            f"  unzipped: {_mb(self.unzipped_bytes)} of {_mb(MAX_UNZIPPED)} allowed "
            "(code plus layers; leave room for a Ghostscript layer)",
            "  " + ", ".join(f"{n}=={v}" for n, v in sorted(self.versions.items())),
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the lock --------------------------------------------------------------------------


def find_project(start: Path | None = None) -> Path:
    """The source checkout holding pyproject.toml and uv.lock."""
    candidates = [start] if start else [Path(__file__).resolve().parent, Path.cwd()]
    for base in candidates:
        for folder in (base, *base.parents):
            if (folder / "pyproject.toml").is_file() and (folder / "uv.lock").is_file():
                return folder
    raise PackageError(
        "thumbsmith package needs a source checkout (pyproject.toml and uv.lock); "
        "run it from the repository"
    )


def runtime_closure(lock: Mapping[str, object], include_boto3: bool) -> set[str]:
    """Names reachable from thumbsmith's own dependencies in uv.lock, not passing through
    the runtime-provided boto3 family (unless it is included)."""
    packages = lock.get("package")
    if not isinstance(packages, list):
        raise PackageError("uv.lock has no [[package]] tables")
    deps: dict[str, list[str]] = {}
    for pkg in packages:
        names = [normalise(d["name"]) for d in pkg.get("dependencies", [])]
        deps[normalise(pkg["name"])] = names
    if "thumbsmith" not in deps:
        raise PackageError("uv.lock does not list thumbsmith itself")
    skip = set(LOCAL_ONLY) | (set() if include_boto3 else set(RUNTIME_PROVIDED))
    seen: set[str] = set()
    todo = [n for n in deps["thumbsmith"] if n not in skip]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [n for n in deps.get(name, []) if n not in skip and n not in seen]
    return seen


def parse_requirements(text: str) -> list[Pin]:
    """``uv export`` output: one ``name==version[ ; marker]`` a line."""
    pins = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        spec, _, marker = line.partition(";")
        name, sep, version = spec.strip().partition("==")
        if not sep or not version.strip():
            raise PackageError(f"uv export gave an unpinned requirement: {line!r}")
        pins.append(Pin(normalise(name.strip()), version.strip(), marker.strip() or None))
    return pins


def marker_applies(marker: str | None, arch: str, python: str) -> bool | None:
    """Whether the marker holds on the Lambda runtime; None if ``packaging`` is missing."""
    if marker is None:
        return True
    try:
        from packaging.markers import Marker
    except ImportError:  # pragma: no cover - packaging comes with every dev environment
        return None
    env = {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "platform_machine": "aarch64" if arch == "arm64" else "x86_64",
        "python_version": python,
        "python_full_version": f"{python}.0",
    }
    return bool(Marker(marker).evaluate(env))


def _uv() -> str:
    found = shutil.which("uv")
    if not found:
        raise PackageError("uv is not on PATH; install it (https://docs.astral.sh/uv/)")
    return found


def _run(cmd: Sequence[str], cwd: Path) -> str:
    proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise PackageError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}"
        )
    return proc.stdout


# --- assembling --------------------------------------------------------------------------


def _install(pins: Sequence[Pin], arch: str, python: str, target: Path, project: Path) -> None:
    reqs = target.parent / "requirements.txt"
    reqs.write_text(
        "".join(
            f"{p.name}=={p.version}" + (f" ; {p.marker}" if p.marker else "") + "\n" for p in pins
        ),
        encoding="utf-8",
    )
    cmd = [
        _uv(), "pip", "install", "--quiet", "--no-deps", "--no-config",
        "--target", str(target),
        "--python-platform", ARCHES[arch][0],
        "--python-version", python,
        "-r", str(reqs),
    ]  # fmt: skip
    # Per-package --only-binary rather than :all:, so the few sdist-only pure packages
    # can still be built; every other package must come as a wheel for the target.
    for pin in pins:
        if pin.name not in SDIST_ALLOWED:
            cmd += ["--only-binary", pin.name]
    _run(cmd, project)


#: Parts of the package that only local commands use (``serve``, ``receive``); the
#: origin app (``http/origin``) ships, for the function URL.
LOCAL_ONLY_MODULES = (
    "http/serve",
    "http/receive",
    "http/server.py",
    "runners/serve.py",
    "runners/receive.py",
)


def _add_own_wheel(project: Path, target: Path, scratch: Path) -> str:
    out = scratch / "own-wheel"
    _run([_uv(), "build", "--wheel", "--no-config", "--out-dir", str(out), str(project)], project)
    wheels = sorted(out.glob("thumbsmith-*.whl"))
    if len(wheels) != 1:
        raise PackageError(f"uv build gave {len(wheels)} thumbsmith wheels, expected one")
    with zipfile.ZipFile(wheels[0]) as whl:
        whl.extractall(target)
    # A wheel's .data/purelib and platlib belong at the root; scripts and headers
    # have no use on Lambda.
    for data in target.glob("thumbsmith-*.data"):
        for lib in ("purelib", "platlib"):
            if (data / lib).is_dir():
                shutil.copytree(data / lib, target, dirs_exist_ok=True)
        shutil.rmtree(data)
    # The build tooling itself (this module: it reads uv.lock and writes zips) has no
    # business on Lambda.
    own = target / "thumbsmith"
    shutil.rmtree(own / "tools")
    # The local page and the webhook receiver run on a machine of the user's, never on
    # Lambda; they need uvicorn, which the zip does not carry.
    for local_only in LOCAL_ONLY_MODULES:
        path = own / local_only
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return wheels[0].name


def _trim(target: Path) -> None:
    # Console scripts carry this host's interpreter in their shebang; Lambda never runs them.
    shutil.rmtree(target / "bin", ignore_errors=True)
    for cache in sorted(target.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    for pyc in [*target.rglob("*.pyc"), *target.rglob("*.pyo")]:
        pyc.unlink()


def _walk(target: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(target):
        dirs.sort()
        for name in sorted(files):
            yield Path(root) / name
        for name in dirs:
            if (Path(root) / name).is_symlink():
                raise PackageError(f"symlinked directory {Path(root) / name} in the build")


# --- checks --------------------------------------------------------------------------------


def elf_machine(head: bytes) -> int | None:
    """e_machine of an ELF file from its first 20 bytes, or None if it is not ELF."""
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def check_native(files: Iterable[tuple[str, bytes]], arch: str, python: str) -> None:
    """Every ELF file is for the target machine; every extension for the target Python."""
    want = ARCHES[arch][1]
    tag = "cpython-" + python.replace(".", "")
    wrong: list[str] = []
    for name, head in files:
        machine = elf_machine(head)
        if machine is not None and machine != want:
            wrong.append(f"{name}: ELF e_machine {machine}, expected {want} for {arch}")
        found = re.search(r"\.(cpython-\d+)-([a-z0-9_]+-linux-gnu)\.so$", name)
        if found and (found[1] != tag or found[2] != _ELF_TRIPLET[arch]):
            wrong.append(f"{name}: extension built for {found[1]}-{found[2]}")
    if wrong:
        raise PackageError("native code for the wrong target:\n  " + "\n  ".join(wrong))


def installed_versions(target: Path) -> dict[str, str]:
    versions: dict[str, str] = {}
    for info in sorted(target.glob("*.dist-info")):
        name = version = None
        metadata = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
        for line in metadata.splitlines():
            if not line:
                break  # the headers end at the first blank line
            if line.startswith("Name:"):
                name = line[5:].strip()
            elif line.startswith("Version:"):
                version = line[8:].strip()
        if not name or not version:
            raise PackageError(f"{info.name}: METADATA lacks Name or Version")
        versions[normalise(name)] = version
    return versions


def check_versions(
    versions: Mapping[str, str], pins: Sequence[Pin], arch: str, python: str
) -> list[str]:
    """Fail unless what landed equals the lock; returns warnings for unverifiable pins."""
    expected = {p.name: p for p in pins}
    problems: list[str] = []
    warnings: list[str] = []
    for name, version in sorted(versions.items()):
        pin = expected.get(name)
        if pin is None:
            problems.append(f"{name}=={version} is in the zip but not pinned for it in uv.lock")
        elif pin.version != version:
            problems.append(f"{name}: zip has {version}, uv.lock pins {pin.version}")
    for pin in pins:
        if pin.name in versions:
            continue
        applies = marker_applies(pin.marker, arch, python)
        if applies is None:
            warnings.append(f"cannot evaluate marker {pin.marker!r} of {pin.name} (no packaging)")
        elif applies:
            problems.append(f"{pin.name}=={pin.version} is pinned but missing from the zip")
    if problems:
        raise PackageError("the zip does not match uv.lock:\n  " + "\n  ".join(problems))
    return warnings


def _pure_wheel(target: Path, name: str) -> bool:
    for info in target.glob("*.dist-info"):
        if normalise(info.name.rsplit("-", 1)[0]) != name:
            continue
        wheel = (info / "WHEEL").read_text(encoding="utf-8")
        return "Root-Is-Purelib: true" in wheel and "Tag: py3-none-any" in wheel
    return True  # not installed (marker); nothing to check


# --- the zip -------------------------------------------------------------------------------


def _write_zip(target: Path, dest: Path) -> tuple[int, int, list[tuple[str, bytes]]]:
    unzipped = 0
    heads: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in _walk(target):
            rel = path.relative_to(target).as_posix()
            if path.is_symlink():
                # A symlink stored in a zip becomes a dangling link or a path escape on
                # extraction; wheels have none, so one here means something is wrong.
                raise PackageError(f"symlink {rel} in the build")
            mode = path.stat().st_mode
            data = path.read_bytes()
            info = zipfile.ZipInfo(rel, date_time=_DATE)
            # Regular file, readable by Lambda's sandbox user; keep the exec bit only
            # where it was (shared libraries, a layer-less gs would need it too).
            perm = 0o755 if mode & stat.S_IXUSR else 0o644
            info.external_attr = (stat.S_IFREG | perm) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=6)
            unzipped += len(data)
            heads.append((rel, data[:20]))
    return dest.stat().st_size, unzipped, heads


def build_zip(
    arch: str,
    python: str,
    output_dir: str | Path,
    include_boto3: bool = False,
    *,
    project_dir: Path | None = None,
) -> BuildResult:
    """Build ``<output_dir>/thumbsmith-lambda.zip`` for ``arch`` and ``python``.

    Raises :class:`PackageError` with the reason when the zip would not match the lock,
    would carry native code for another target, or would be over Lambda's limits; in
    that case nothing is written to ``output_dir``.
    """
    if arch not in ARCHES:
        raise PackageError(f"arch must be one of {sorted(ARCHES)}, not {arch!r}")
    if python not in PYTHONS:
        raise PackageError(f"python must be one of {list(PYTHONS)}, not {python!r}")
    project = find_project(project_dir)
    lock = tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))
    exported = _run(
        [_uv(), "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project",
         "--no-header", "--no-annotate", "--no-config"],
        project,
    )  # fmt: skip
    keep = runtime_closure(lock, include_boto3)
    pins = [p for p in parse_requirements(exported) if p.name in keep]
    own_version = next(
        str(p["version"]) for p in lock["package"] if normalise(p["name"]) == "thumbsmith"
    )

    out_dir = Path(output_dir)
    with tempfile.TemporaryDirectory(prefix="thumbsmith-package-") as tmp:
        scratch = Path(tmp)
        target = scratch / "root"
        target.mkdir()
        _install(pins, arch, python, target, project)
        impure = [name for name in SDIST_ALLOWED if not _pure_wheel(target, name)]
        if impure:
            raise PackageError(f"{impure} built from source into native wheels for this host")
        _add_own_wheel(project, target, scratch)
        _trim(target)

        versions = installed_versions(target)
        all_pins = [*pins, Pin("thumbsmith", own_version, None)]
        warnings = check_versions(versions, all_pins, arch, python)
        if not (target / HANDLER_FILE).is_file():
            raise PackageError(f"{HANDLER_FILE} is missing from the build: no Lambda handler")
        (target / BUILD_INFO).write_text(
            json.dumps(
                {"arch": arch, "python": python, "include_boto3": include_boto3,
                 "versions": versions},
                indent=2, sort_keys=True,
            ) + "\n",
            encoding="utf-8",
        )  # fmt: skip

        staged = scratch / ZIP_NAME
        zipped, unzipped, heads = _write_zip(target, staged)
        check_native(heads, arch, python)
        over = []
        if zipped > MAX_ZIPPED:
            over.append(f"zipped {_mb(zipped)} > {_mb(MAX_ZIPPED)} (direct upload limit)")
        if unzipped > MAX_UNZIPPED:
            over.append(f"unzipped {_mb(unzipped)} > {_mb(MAX_UNZIPPED)} (Lambda limit)")
        if over:
            raise PackageError("refusing to write a zip over Lambda's limits: " + "; ".join(over))
        out_dir.mkdir(parents=True, exist_ok=True)
        dest = out_dir / ZIP_NAME
        shutil.move(staged, dest)
    return BuildResult(
        zip_path=dest,
        arch=arch,
        python=python,
        zipped_bytes=zipped,
        unzipped_bytes=unzipped,
        files=len(heads),
        versions=versions,
        warnings=tuple(warnings),
    )
