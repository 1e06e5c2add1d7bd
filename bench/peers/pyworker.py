"""A warm, persistent worker for one Python-side peer of the W3 benchmark.

Usage: ``python bench/peers/pyworker.py PEER`` with PEER one of :data:`PEERS`.

It reads one JSON request a line on stdin and answers one JSON line on stdout:

* ``{"cmd": "run", "path": P, "save": DIR|null}`` -> ``{"ms": .., "out": [[name, w, h, bytes]..]}``
  ``ms`` is measured in this process around the whole of W3 for one image, starting from
  the file path (the read of the file from the page cache is included for every peer).
  Outputs are written to ``DIR/<name>.jpg`` *after* the clock stops.
* ``{"cmd": "loop", "path": P, "n": N}`` -> ``{"ms": ..}``: N images back to back.
* ``{"cmd": "hwm"}`` -> ``{"hwm_kb": ..}``: peak RSS of this process (VmHWM), or for
  ``gm`` the largest peak RSS of any ``gm`` child so far (the driver is not the peer).
* ``{"cmd": "quit"}``.

Threads are set by the parent through the environment (``VIPS_CONCURRENCY``,
``OMP_NUM_THREADS``) before anything is imported.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZES: tuple[tuple[str, int], ...] = (("large", 1280), ("medium", 640), ("thumb", 160))
QUALITY = 85
PEERS = ("thumbsmith", "pillow", "pyvips", "gm", "floor")

Output = tuple[str, bytes, int, int]
Job = Callable[[Path], list[Output]]


def _threads() -> int:
    return int(os.environ.get("VIPS_CONCURRENCY", "1") or "1")


def _jpeg_dims(data: bytes) -> tuple[int, int]:
    """Width and height from a JPEG's SOF marker (cheap; no decode)."""
    i = 2
    while i < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE):
            h = int.from_bytes(data[i + 5 : i + 7], "big")
            w = int.from_bytes(data[i + 7 : i + 9], "big")
            return w, h
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return 0, 0


# --- thumbsmith ---------------------------------------------------------------------------


def make_thumbsmith() -> Job:
    from thumbsmith.core import RenderOptions, configure, parse_renditions, render

    configure(concurrency=_threads())
    specs = parse_renditions(",".join(f"{n}={s}" for n, s in SIZES))
    options = RenderOptions(quality=QUALITY)

    def job(path: Path) -> list[Output]:
        data = path.read_bytes()
        return [
            (r.name, r.data, r.width, r.height)
            for r in render(data, specs, options, name=path.name)
        ]

    return job


# --- the AWS-tutorial style: Pillow, re-open and thumbnail() per size -----------------------


def make_pillow() -> Job:
    from PIL import Image, ImageCms

    srgb = ImageCms.createProfile("sRGB")

    def one(path: Path, box: int) -> Output:
        with Image.open(path) as src:
            im: Image.Image = src
            orientation = src.getexif().get(0x0112, 1)  # header only, no decode
            icc = src.info.get("icc_profile")
            if im.mode == "P" or "transparency" in im.info:
                # resize() would use NEAREST on a palette: go to RGBA first (full decode;
                # palette images have no draft() anyway).
                im = im.convert("RGBA")
            im.thumbnail((box, box), Image.Resampling.LANCZOS)  # uses draft() on JPEG
            im = _transpose(im, orientation)
            if icc and im.mode in ("RGB", "RGBA", "CMYK"):
                cms_in = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
                converted = ImageCms.profileToProfile(im, cms_in, srgb, outputMode=out_mode)
                assert converted is not None  # None only with inPlace=True
                im = converted
            if im.mode in ("RGBA", "LA"):
                flat = Image.new("RGB", im.size, (255, 255, 255))
                flat.paste(im, mask=im.getchannel("A"))
                im = flat
            elif im.mode != "RGB":
                im = im.convert("RGB")
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=QUALITY, progressive=True, optimize=True)
            return "", buf.getvalue(), im.width, im.height

    def job(path: Path) -> list[Output]:
        out = []
        for name, box in SIZES:
            _, data, w, h = one(path, box)
            out.append((name, data, w, h))
        return out

    return job


def _transpose(im: Any, orientation: int) -> Any:
    """What ImageOps.exif_transpose() does, for an orientation read before thumbnail()."""
    from PIL import Image

    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return im.transpose(method) if method is not None else im


# --- pyvips thumbnail_buffer per size -------------------------------------------------------


def make_pyvips() -> Job:
    import pyvips

    def job(path: Path) -> list[Output]:
        data = path.read_bytes()
        # thumbnail() ignores an embedded profile unless export_profile is set; setting it
        # on an untagged image costs a needless transform, so look at the header first.
        tagged = pyvips.Image.new_from_buffer(data, "").get_typeof("icc-profile-data") != 0
        extra = {"export_profile": "srgb"} if tagged else {}
        out = []
        for name, box in SIZES:
            im = pyvips.Image.thumbnail_buffer(data, box, height=box, size="down", **extra)
            if im.hasalpha():
                im = im.flatten(background=[255, 255, 255])
            if im.interpretation != "srgb":
                im = im.colourspace("srgb")
            enc = im.jpegsave_buffer(Q=QUALITY, interlace=True, optimize_coding=True, keep=0)
            out.append((name, enc, im.width, im.height))
        return out

    return job


# --- the original design: gm once per size, re-reading the original -------------------------


class GmPeer:
    def __init__(self) -> None:
        self.child_hwm_kb = 0
        self._srgb = Path(tempfile.mkdtemp(prefix="bench-gm-")) / "sRGB.icc"
        from PIL import ImageCms

        self._srgb.write_bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
        self._icc_cache: dict[Path, bool] = {}

    def _has_icc(self, path: Path) -> bool:
        # Decided once per file outside the clock: the original design would always pass
        # -profile; we only add it where it changes the pixels.
        if path not in self._icc_cache:
            from PIL import Image

            with Image.open(path) as im:
                self._icc_cache[path] = bool(im.info.get("icc_profile"))
        return self._icc_cache[path]

    def _run(self, args: list[str]) -> bytes:
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err)
            assert proc.stdout is not None
            out = proc.stdout.read()
            proc.stdout.close()
            # reap it ourselves: wait4() gives this child's own peak RSS
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            self.child_hwm_kb = max(self.child_hwm_kb, usage.ru_maxrss)
            if proc.returncode:
                err.seek(0)
                raise RuntimeError(f"gm failed: {err.read().decode(errors='replace')[:300]}")
        return out

    def job(self, path: Path) -> list[Output]:
        is_jpeg = path.suffix.lower() in (".jpg", ".jpeg")
        out = []
        for name, box in SIZES:
            args = ["gm", "convert"]
            if is_jpeg:  # gm's documented hint: lets libjpeg decode at a DCT scale
                args += ["-size", f"{2 * box}x{2 * box}"]
            args += [f"{path}[0]", "-auto-orient"]
            if self._has_icc(path):
                args += ["-profile", str(self._srgb)]
            args += [
                "-thumbnail",
                f"{box}x{box}>",
                "-background",
                "white",
                "-flatten",
                "-quality",
                str(QUALITY),
                "-interlace",
                "Line",
                "-strip",
                "JPEG:-",
            ]
            data = self._run(args)
            w, h = _jpeg_dims(data)
            out.append((name, data, w, h))
        return out


# --- the floor: JPEG decode at the smallest DCT scale covering 1280 px + three encodes ------


def make_floor() -> Job:
    import pyvips

    prepared: dict[Path, tuple[int, list[tuple[str, Any]]]] = {}

    def prepare(path: Path, data: bytes) -> tuple[int, list[tuple[str, Any]]]:
        head = pyvips.Image.new_from_buffer(data, "")
        shrink = 1
        if head.get("vips-loader") == "jpegload_buffer":
            big = SIZES[0][1]
            scale = min(big / head.width, big / head.height, 1.0)
            need_w, need_h = round(head.width * scale), round(head.height * scale)
            for s in (8, 4, 2):
                if -(-head.width // s) >= need_w and -(-head.height // s) >= need_h:
                    shrink = s
                    break
        # The three images to encode, made outside the clock, held in memory.
        rend = []
        for name, box in SIZES:
            im = pyvips.Image.thumbnail_buffer(data, box, height=box, size="down")
            if im.hasalpha():
                im = im.flatten(background=[255, 255, 255])
            rend.append((name, im.copy_memory()))
        return shrink, rend

    def job(path: Path) -> list[Output]:
        data = path.read_bytes()
        if path not in prepared:  # once per file; the first (warm-up) call pays it
            prepared[path] = prepare(path, data)
        shrink, rend = prepared[path]
        # decode alone: to a memory image, nothing else
        if shrink > 1:
            pyvips.Image.jpegload_buffer(data, shrink=shrink).copy_memory()
        else:
            pyvips.Image.new_from_buffer(data, "").copy_memory()
        out = []
        for name, im in rend:
            enc = im.jpegsave_buffer(Q=QUALITY, interlace=True, optimize_coding=True, keep=0)
            out.append((name, enc, im.width, im.height))
        return out

    return job


def hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def serve(peer: str, job: Job, *, hwm: Callable[[], int] = hwm_kb, suffix: str = "") -> None:
    """The JSON-lines protocol: ``run`` (with ``path``, optional ``save``), ``loop``
    (``path``, ``n``), ``hwm`` and ``quit``; one JSON reply per request line."""
    send = sys.stdout.write
    send(json.dumps({"ready": peer, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req["cmd"]
        if cmd == "quit":
            break
        try:
            reply = _reply(req, job, hwm, suffix)
        except NotImplementedError as exc:
            reply = {"error": f"not implemented: {exc}"}
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        send(json.dumps(reply) + "\n")
        sys.stdout.flush()


def _reply(req: dict[str, Any], job: Job, hwm: Callable[[], int], suffix: str) -> dict[str, Any]:
    cmd = req["cmd"]
    if cmd == "run":
        path = Path(req["path"])
        t0 = time.perf_counter()
        outs = job(path)
        ms = (time.perf_counter() - t0) * 1e3
        if req.get("save"):
            for name, data, _, _ in outs:
                (Path(req["save"]) / f"{name}{suffix}").write_bytes(data)
        return {"ms": ms, "out": [[n, w, h, len(d)] for n, d, w, h in outs]}
    if cmd == "loop":
        path = Path(req["path"])
        t0 = time.perf_counter()
        for _ in range(int(req["n"])):
            job(path)
        return {"ms": (time.perf_counter() - t0) * 1e3}
    if cmd == "hwm":
        return {"hwm_kb": hwm()}
    return {"error": f"unknown command {cmd!r}"}


def main() -> None:
    peer = sys.argv[1]
    gm: GmPeer | None = None
    if peer == "gm":
        gm = GmPeer()
        job: Job = gm.job
    else:
        job = {
            "thumbsmith": make_thumbsmith,
            "pillow": make_pillow,
            "pyvips": make_pyvips,
            "floor": make_floor,
        }[peer]()
    hwm = (lambda: gm.child_hwm_kb) if gm is not None else hwm_kb
    serve(peer, job, hwm=hwm, suffix=".jpg")


if __name__ == "__main__":
    main()
