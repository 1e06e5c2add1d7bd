"""The one value the pipeline's steps read and update: :class:`Job`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyvips

from thumbsmith.core.decoders.sniff import Header
from thumbsmith.core.hints import Hints
from thumbsmith.core.options import RenderOptions
from thumbsmith.core.placeholder import Placeholder
from thumbsmith.core.result import Rendition, SourceFacts
from thumbsmith.core.spec import RenditionSpec


@dataclass(frozen=True, slots=True)
class PlannedOutput:
    """One rendition to make: its spec, where it goes in the output, its upright size.

    ``width`` x ``height`` is the output; ``resize_width`` x ``resize_height`` the whole
    upright source scaled (before ``cover`` crops or ``contain`` pads it).
    """

    index: int
    spec: RenditionSpec
    width: int
    height: int
    resize_width: int = 0
    resize_height: int = 0

    @property
    def resize(self) -> tuple[int, int]:
        return (self.resize_width or self.width, self.resize_height or self.height)


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
    hints: Hints = field(default_factory=Hints)
    only: tuple[str, str] | None = None  # (name, format): encode that output alone
    header: Header | None = None  # sniff
    image: pyvips.Image | None = None  # load, then every pixel step
    orientation: int = 1  # load: EXIF orientation 1..8 of the stored pixels
    source_size: tuple[int, int] = (0, 0)  # load: upright, at full scale
    has_alpha: bool = False  # load
    targets: list[PlannedOutput] = field(default_factory=list)  # plan: largest resize first
    frames: pyvips.Image | None = None  # load: every frame, for animated renditions
    # target index -> the whole upright image at the target's resize size
    # (resize_largest, orient, cascade); then crop and pad shape them into ``outputs``.
    resized: dict[int, pyvips.Image] = field(default_factory=dict)
    outputs: dict[int, pyvips.Image] = field(default_factory=dict)  # target index -> pixels
    windows: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)  # crop: cover
    animated: dict[int, pyvips.Image] = field(default_factory=dict)  # animate: frame strips
    keep_alpha: bool = False  # flatten: whether an alpha band goes on to the encoders
    renditions: list[Rendition] = field(default_factory=list)  # encode
    placeholder: Placeholder | None = None  # placeholder

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

    def require_targets(self) -> list[PlannedOutput]:
        if not self.targets:
            raise RuntimeError("pipeline order: 'plan' must run before this step")
        return self.targets

    def facts(self) -> SourceFacts:
        header = self.require_header()
        width, height = self.source_size
        return SourceFacts(header.format, width, height, header.frames, self.has_alpha)
