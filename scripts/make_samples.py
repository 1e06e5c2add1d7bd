"""Make the demo's sample images (our own, so no licences to track) in a folder.

They cover what users upload: a phone photo stored sideways with EXIF rotation and a GPS
tag (which thumbsmith must strip), a transparent PNG, an animated GIF, a CMYK JPEG from
print, and a vector EPS.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw


def _scene(width: int, height: int) -> Image.Image:
    img = Image.new("RGB", (width, height))
    px = img.load()
    assert px is not None
    for y in range(height):
        t = y / height
        row = (int(255 * (1 - t) + 40 * t), int(140 * (1 - t) + 20 * t), int(60 + 120 * t))
        for x in range(width):
            px[x, y] = row
    draw = ImageDraw.Draw(img)
    r = height // 6
    draw.ellipse(
        (width // 2 - r, height // 2 - r, width // 2 + r, height // 2 + r), fill=(255, 220, 90)
    )
    for i in range(12):
        x = int(width * (i + 0.5) / 12)
        h = int(height * (0.15 + 0.1 * math.sin(i)))
        draw.rectangle((x - width // 40, height - h, x + width // 40, height), fill=(20, 20, 40))
    # An arrow pointing up, so a wrongly rotated thumbnail is obvious at a glance.
    draw.polygon([(60, 160), (100, 60), (140, 160)], fill=(255, 255, 255))
    return img


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)

    # Phone photo: pixels stored sideways, EXIF says "rotate 90 CW to view" (orientation 6).
    upright = _scene(2400, 1600)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 12.0), 3: "E", 4: (4.0, 53.0, 30.0)}  # GPS
    upright.transpose(Image.Transpose.ROTATE_90).save(
        out / "phone photo.jpg", quality=90, exif=exif
    )

    logo = Image.new("RGBA", (800, 600), (0, 0, 0, 0))
    d = ImageDraw.Draw(logo)
    d.rounded_rectangle((100, 100, 700, 500), radius=80, fill=(30, 120, 220, 255))
    d.ellipse((300, 200, 500, 400), fill=(255, 255, 255, 128))
    logo.save(out / "logo.png")

    frames = []
    for i in range(6):
        f = Image.new("P", (320, 240), 0)
        f.putpalette([255, 255, 255, 200, 30, 30, 30, 30, 200] + [0] * 759)
        ImageDraw.Draw(f).ellipse((20 + i * 40, 80, 100 + i * 40, 160), fill=1 + i % 2)
        frames.append(f)
    frames[0].save(out / "badge.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)

    _scene(1200, 800).convert("CMYK").save(out / "print-cmyk.jpg", quality=90)

    (out / "diagram.eps").write_text(
        "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 400 300\n"
        "0.9 0.95 1 setrgbcolor 0 0 400 300 rectfill\n"
        "0.8 0.2 0.2 setrgbcolor 200 150 100 0 360 arc fill\n"
        "0 0 0 setrgbcolor /Helvetica findfont 36 scalefont setfont 110 30 moveto "
        "(thumbsmith) show\nshowpage\n%%EOF\n",
        encoding="ascii",
    )
    print(f"wrote {len(list(out.iterdir()))} sample images to {out}/")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo/photos/images"))
