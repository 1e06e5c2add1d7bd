"""The pure imaging core: bytes and specs in, renditions out. No storage, no network.

Call :func:`configure` once per process, then :func:`thumbsmith.pipeline.render`.
:func:`sniff` reads format, size and frame count from the header without decoding.
"""

from thumbsmith.imaging.engine import configure
from thumbsmith.imaging.sniff import ALLOWED_FORMATS, Header, sniff, sniff_format

__all__ = ["ALLOWED_FORMATS", "Header", "configure", "sniff", "sniff_format"]
