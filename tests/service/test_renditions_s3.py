"""Renditions on S3 (moto over HTTP): keys and content types per format, and the focal
point from the object's user metadata (x-amz-meta-focus)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from support.aws import make_buckets
from thumbsmith.runners.bootstrap import processor, s3_store
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.settings import Settings


def subject_right() -> bytes:
    image = np.full((300, 600, 3), 128, np.uint8)
    image[100:200, 480:580] = (255, 0, 0)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


def red_fraction(data: bytes) -> float:
    px = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=float)
    return float(((px[..., 0] > 200) & (px[..., 1] < 60)).mean())


def test_focus_metadata_and_keys_per_format(s3: Any, name: str, settings: Settings) -> None:
    make_buckets(s3, name)
    data = subject_right()
    s3.put_object(Bucket=name, Key="images/a.png", Body=data)
    s3.put_object(Bucket=name, Key="images/b.png", Body=data, Metadata={"focus": "0.88,0.5"})
    p = processor(s3_store(settings), settings.replace(renditions="sq=300:cover:webp+jpeg"))
    for key in ("images/a.png", "images/b.png"):
        out = p.process(ObjectEvent(name, key, EventKind.CREATED))
        assert {(w.key, w.format) for w in out.renditions} == {
            (f"sq/{key}.webp", "webp"),
            (f"sq/{key}.jpg", "jpeg"),
        }
    for fmt, ext in (("webp", "webp"), ("jpeg", "jpg")):
        centred = s3.get_object(Bucket=f"{name}-output", Key=f"sq/images/a.png.{ext}")
        focused = s3.get_object(Bucket=f"{name}-output", Key=f"sq/images/b.png.{ext}")
        assert centred["ContentType"] == focused["ContentType"] == f"image/{fmt}"
        assert red_fraction(centred["Body"].read()) == 0
        assert red_fraction(focused["Body"].read()) > 0.1
