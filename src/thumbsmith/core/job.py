"""The one value the pipeline's steps read and update: :class:`Job`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyvips

from thumbsmith.core.decoders.sniff import Header
from thumbsmith.core.options import RenderOptions
from thumbsmith.core.result import Rendition, SourceFacts
from thumbsmith.core.spec import RenditionSpec


@dataclass(frozen=True, slots=True)
class Target:
    """One rendition to make: its spec, where it goes in the output, its upright size."""

    index: int
    spec: RenditionSpec
    width: int
    height: int


@dataclass
class Job:
    """One source on its way through the steps.

    Each field is filled by the step named beside it; a step that reads a field another
    step fills uses the ``require_*`` accessors, which fail loudly when run out of order.
    """

    data: bytes
    specs: Sequence[RenditionSpec]
    options: RenderOptions
    name: str = "<bytes>"
    deadline: float = math.inf
    header: Header | None = None  # sniff
    image: pyvips.Image | None = None  # load, then every pixel step
    orientation: int = 1  # load: EXIF orientation 1..8 of the stored pixels
    source_size: tuple[int, int] = (0, 0)  # load: upright, at full scale
    has_alpha: bool = False  # load
    targets: list[Target] = field(default_factory=list)  # plan: largest first
    outputs: dict[int, pyvips.Image] = field(default_factory=dict)  # target index -> pixels
    renditions: list[Rendition] = field(default_factory=list)  # encode

    @property
    def swapped(self) -> bool:
        """EXIF orientations 5-8 turn the stored image a quarter turn."""
        return self.orientation >= 5

    def require_header(self) -> Header:
        if self.header is None:
            raise RuntimeError("pipeline order: 'sniff' must run before this step")
        return self.header

    def require_image(self) -> pyvips.Image:
        if self.image is None:
            raise RuntimeError("pipeline order: 'load' must run before this step")
        return self.image

    def require_source_size(self) -> tuple[int, int]:
        if self.source_size == (0, 0):
            raise RuntimeError("pipeline order: 'load' must run before this step")
        return self.source_size

    def require_targets(self) -> list[Target]:
        if not self.targets:
            raise RuntimeError("pipeline order: 'plan' must run before this step")
        return self.targets

    def facts(self) -> SourceFacts:
        header = self.require_header()
        width, height = self.source_size
        return SourceFacts(header.format, width, height, header.frames, self.has_alpha)
