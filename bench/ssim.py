"""SSIM on luma against a float Lanczos reference, in numpy (no scikit-image).

The reference is made once per input from a *full* decode: first frame, upright (EXIF
orientation), converted to sRGB with the embedded profile, alpha flattened on white, then
each channel resized to the output's exact size with Lanczos in 32-bit float (Pillow mode
"F"), never rounded to 8 bits. SSIM is the Wang et al. 2004 index: an 11x11 Gaussian window
with sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, on BT.601 luma, averaged over the valid
(fully windowed) area.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageCms, ImageOps

try:  # HEIC/HEIF references (corpus photos in bench/parity.py); AVIF is Pillow's own
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - the project's env has it
    pass

F64 = npt.NDArray[np.float64]
LUMA = (0.299, 0.587, 0.114)


class Reference:
    """A full-size float RGB decode of one input, ready to be resized on demand."""

    def __init__(self, path: Path) -> None:
        with Image.open(path) as src:
            src.seek(0)
            icc = src.info.get("icc_profile")
            im = ImageOps.exif_transpose(src)
            if im.mode in ("P", "PA") or "transparency" in im.info:
                im = im.convert("RGBA")
            if icc and im.mode in ("RGB", "RGBA", "CMYK"):
                srgb = ImageCms.createProfile("sRGB")
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
            self.size = im.size
            self._channels = [ch.convert("F") for ch in im.split()]
        self._cache: dict[tuple[int, int], F64] = {}

    def luma(self, size: tuple[int, int]) -> F64:
        """Luma of the float Lanczos reference at ``size`` (width, height)."""
        if size not in self._cache:
            planes = [
                np.asarray(ch.resize(size, Image.Resampling.LANCZOS), dtype=np.float64)
                for ch in self._channels
            ]
            self._cache[size] = sum(
                (w * p for w, p in zip(LUMA, planes, strict=True)), np.zeros(planes[0].shape)
            )
        return self._cache[size]

    def rgb8(self, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
        """The reference at ``size``, rounded to 8-bit RGB (for tools that read files)."""
        planes = [
            np.clip(np.rint(np.asarray(ch.resize(size, Image.Resampling.LANCZOS))), 0, 255)
            for ch in self._channels
        ]
        return np.stack(planes, axis=-1).astype(np.uint8)


def luma_of(jpeg: bytes) -> F64:
    with Image.open(io.BytesIO(jpeg)) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
    return np.asarray(rgb @ np.array(LUMA), dtype=np.float64)


def _gauss_filter(x: F64, sigma: float = 1.5, radius: int = 5) -> F64:
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-(t * t) / (2 * sigma * sigma))
    k /= k.sum()
    # Separable 'valid' convolution, rows then columns, as one matrix product over sliding
    # windows each (the kernel is symmetric): 2x faster than np.convolve per row, and the
    # same values to 1e-15 (the sweep in bench/parity.py scores thousands of outputs).
    rows = sliding_window_view(x, k.size, axis=1) @ k
    return np.asarray(sliding_window_view(rows, k.size, axis=0) @ k, dtype=np.float64)


def ssim(a: F64, b: F64, data_range: float = 255.0) -> float:
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch {a.shape} vs {b.shape}")
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    mu_a, mu_b = _gauss_filter(a), _gauss_filter(b)
    aa = _gauss_filter(a * a) - mu_a * mu_a
    bb = _gauss_filter(b * b) - mu_b * mu_b
    ab = _gauss_filter(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * ab + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (aa + bb + c2)
    return float(np.mean(num / den))


def ssim_jpeg(ref: Reference, jpeg: bytes) -> float:
    out = luma_of(jpeg)
    h, w = out.shape
    return ssim(ref.luma((w, h)), out)


def reference_q85_ssim(ref: Reference, size: tuple[int, int], quality: int = 85) -> float:
    """SSIM of the reference itself after a q85 encode: the ceiling any peer can reach."""
    rgb = Image.fromarray(ref.rgb8(size), "RGB")
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", quality=quality)
    return ssim_jpeg(ref, buf.getvalue())
