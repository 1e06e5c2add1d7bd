"""Hostile PostScript stays in its sandbox (adds to tests/core/test_eps.py).

Ghostscript 10.0 lets PostScript write and delete files in its temp dir even under
-dSAFER, and on Lambda the system temp dir (/tmp) is where everything in flight lives.
So the victims here sit in the real /tmp and in the test's cwd, and each is attacked by
absolute path and by relative name; the sandbox must give Ghostscript a private TMPDIR
and cwd so that neither reaches them.
"""

from __future__ import annotations

import io
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from thumbsmith.core import RenderOptions, render
from thumbsmith.core.spec import parse_renditions
from thumbsmith.errors import CorruptImage, DecoderTimeout, ImageError

pytestmark = [
    pytest.mark.ghostscript,
    pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript not installed"),
]

SPECS = parse_renditions("thumb=160")
SYSTEM_TMP = Path("/tmp")


def eps(body: str) -> bytes:
    return (
        "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 50\n%%EndComments\n"
        f"{body}\n0 0 1 setrgbcolor 0 0 100 50 rectfill showpage\n%%EOF\n"
    ).encode()


def attempt(body: str, options: RenderOptions | None = None) -> bytes | None:
    """Render; failing is fine (the effects are what the tests check). JPEG or None."""
    try:
        return render(eps(body), SPECS, options, name="hostile.eps")[0].data
    except ImageError:
        return None


@pytest.fixture
def victims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """A victim file in the real /tmp and one in the cwd, with unique names."""
    tag = uuid.uuid4().hex[:10]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    files = {
        "tmp": SYSTEM_TMP / f"thumbsmith-victim-{tag}.txt",
        "cwd": cwd / f"thumbsmith-victim-{tag}.txt",
    }
    for path in files.values():
        path.write_text("keep me")
    yield files
    for path in files.values():
        path.unlink(missing_ok=True)


def ps_string(path: str) -> str:
    return "(" + path.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def test_victims_in_system_tmp_and_cwd_survive_delete_and_overwrite(
    victims: dict[str, Path],
) -> None:
    name = victims["tmp"].name  # same name in both places
    targets = [
        str(victims["tmp"]),  # absolute, in the system temp dir
        str(victims["cwd"]),  # absolute, in the cwd
        name,  # relative: gs's cwd and TMPDIR are its scratch dir, not ours
        f"../{name}",
        f"../../{name}",
        f"/tmp/../tmp/{name}",
    ]
    for target in targets:
        s = ps_string(target)
        attempt(f"{s} deletefile")
        attempt(f"{s} (w) file dup (pwned) writestring closefile")
        attempt(f"{s} (a) file dup (pwned) writestring closefile")
        attempt(f"{s} {ps_string(target + '.moved')} renamefile")
    for where, path in victims.items():
        assert path.read_text() == "keep me", f"victim in {where} was touched"
        assert not Path(str(path) + ".moved").exists()


def test_no_new_file_in_system_tmp_or_cwd(victims: dict[str, Path]) -> None:
    tag = uuid.uuid4().hex[:10]
    new_tmp = SYSTEM_TMP / f"thumbsmith-new-{tag}"
    new_cwd = Path.cwd() / f"thumbsmith-new-{tag}"
    for target in (str(new_tmp), str(new_cwd), f"../thumbsmith-new-{tag}"):
        attempt(f"{ps_string(target)} (w) file dup (x) writestring closefile")
    assert not new_tmp.exists()
    assert not new_cwd.exists()
    assert not (Path.cwd().parent / f"thumbsmith-new-{tag}").exists()
    assert sorted(p.name for p in Path.cwd().iterdir()) == [victims["cwd"].name]


def test_writes_into_its_own_temp_dir_are_thrown_away() -> None:
    """What -dSAFER allows (its TMPDIR, its cwd) is the private scratch dir, removed after."""
    before = {p.name for p in SYSTEM_TMP.iterdir() if p.name.startswith("thumbsmith-gs-")}
    attempt("(scratch.txt) (w) file dup (x) writestring closefile")
    attempt("(output.png) deletefile (input.eps) deletefile")
    after = {p.name for p in SYSTEM_TMP.iterdir() if p.name.startswith("thumbsmith-gs-")}
    # Others may run EPS tests at the same time: only dirs that appeared and stayed count.
    time.sleep(0.5)
    still = {p.name for p in SYSTEM_TMP.iterdir() if p.name.startswith("thumbsmith-gs-")}
    assert not ((after - before) & still), "a scratch dir outlived its render"


def test_pipe_cannot_run_a_program() -> None:
    marker = SYSTEM_TMP / f"thumbsmith-marker-{uuid.uuid4().hex[:10]}"
    for body in (
        f"(%pipe%touch {marker}) (w) file closefile",
        f"(|touch {marker}) (w) file closefile",
        f"(%pipe%touch {marker}) (r) file closefile",
        f"/outputfile (%pipe%touch {marker}) def",
        f"<< /OutputFile (%pipe%touch {marker}) >> setpagedevice",
    ):
        attempt(body)
    time.sleep(0.2)
    assert not marker.exists(), f"a program ran: {marker} exists"


def _ocr_free_check(jpeg: bytes) -> None:
    # A rendered page that managed to draw /etc/passwd would not be a flat blue fill.
    with Image.open(io.BytesIO(jpeg)) as im:
        colours = im.convert("RGB").getcolors(maxcolors=1 << 16) or []
    dominant: tuple[int, int, int] = max(colours)[1]  # type: ignore[assignment]
    assert dominant[2] > 200 and dominant[0] < 60, "the page is not the plain blue box"


@pytest.mark.parametrize(
    "body",
    [
        "(/etc/passwd) (r) file 4000 string readstring pop "
        "/Courier findfont 4 scalefont setfont 0 40 moveto show",
        "(%stderr) (w) file (/etc/passwd) (r) file 4000 string readstring pop writestring",
        "(/etc/passwd) (r) file 4000 string readstring pop print flush",
        "(/etc/passwd) run",
        "(/etc/../etc/passwd) (r) file 4000 string readstring pop =",
    ],
)
def test_etc_passwd_never_reaches_output_or_messages(body: str) -> None:
    passwd = Path("/etc/passwd").read_text()
    first_line = passwd.splitlines()[0]  # e.g. root:x:0:0:root:/root:/bin/bash
    try:
        out = render(eps(body), SPECS, name="passwd.eps")
    except ImageError as exc:
        assert first_line not in str(exc) and "root:" not in str(exc)
        return
    assert first_line.encode() not in out[0].data
    _ocr_free_check(out[0].data)


def test_memory_rlimit_turns_unbounded_allocation_into_a_typed_error() -> None:
    """About 500 MB of PostScript arrays: refused quickly under a 256 MB rlimit (not by the
    timeout, which is far away), and the same file renders with 2 GB, so it was the
    rlimit that stopped it."""
    body = "/l [] def 30 { /l [ l 1000000 array ] def } repeat"
    start = time.monotonic()
    with pytest.raises(CorruptImage):
        render(eps(body), SPECS, RenderOptions(eps_timeout=30, eps_memory_mb=256), name="m.eps")
    assert time.monotonic() - start < 10, "the memory limit, not the 30 s timeout, must stop it"
    out = render(eps(body), SPECS, RenderOptions(eps_timeout=30, eps_memory_mb=2048))
    assert out[0].width == 160


def test_unbounded_allocation_forever_is_stopped() -> None:
    body = "/l [] def { /l [ l 1000000 array ] def } loop"
    start = time.monotonic()
    with pytest.raises((CorruptImage, DecoderTimeout)):
        render(eps(body), SPECS, RenderOptions(eps_timeout=10, eps_memory_mb=256), name="m.eps")
    assert time.monotonic() - start < 12


def test_endless_loop_is_killed_with_its_process_group() -> None:
    start = time.monotonic()
    with pytest.raises(DecoderTimeout):
        render(eps("{ 1 pop } loop"), SPECS, RenderOptions(eps_timeout=1.5), name="loop.eps")
    assert time.monotonic() - start < 6
