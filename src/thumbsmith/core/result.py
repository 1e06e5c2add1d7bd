"""What :func:`thumbsmith.core.render` returns: the source's facts and the renditions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

from thumbsmith.core.formats import OUTPUT

if TYPE_CHECKING:
    from thumbsmith.core.placeholder import Placeholder


@dataclass(frozen=True, slots=True)
class Rendition:
    """One encoded output of one spec."""

    name: str
    data: bytes
    width: int
    height: int
    format: str = "jpeg"

    @property
    def content_type(self) -> str:
        return OUTPUT[self.format].mime

    @property
    def extension(self) -> str:
        return OUTPUT[self.format].extension


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What the source is, as read while rendering it. Sizes are of the upright image."""

    format: str
    width: int
    height: int
    frames: int = 1
    has_alpha: bool = False


@dataclass(frozen=True)
class RenderResult(Sequence[Rendition]):
    """The source's facts, the renditions (also reachable as the sequence itself), and
    the placeholder (None when ``RenderOptions.placeholders`` is off)."""

    source: SourceFacts
    renditions: list[Rendition] = field(default_factory=list)
    placeholder: Placeholder | None = None

    def by_name(self, name: str) -> list[Rendition]:
        return [r for r in self.renditions if r.name == name]

    @overload
    def __getitem__(self, index: int) -> Rendition: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Rendition]: ...
    def __getitem__(self, index: int | slice) -> Rendition | Sequence[Rendition]:
        return self.renditions[index]

    def __len__(self) -> int:
        return len(self.renditions)

    def __iter__(self) -> Iterator[Rendition]:
        return iter(self.renditions)
