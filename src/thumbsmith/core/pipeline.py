"""The pipeline, declared as data: named steps run in order over one :class:`Job`.

Like imgproxy's ``processing.go``: each step is a small function in its own module
(:mod:`thumbsmith.core.steps`) that reads and updates the job, so the order is visible
here in one place and each step can be tested alone. Each step also says what it
``needs`` from earlier steps and what it ``makes``; :func:`check_order` refuses an order
in which a step would run before what it needs, so a reordering cannot slip through
(limits before decoding, colour before flattening, rotation before the cascade,
crops before padding).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from thumbsmith.core.job import Job
from thumbsmith.core.steps.animate import step_animate
from thumbsmith.core.steps.cascade import step_cascade
from thumbsmith.core.steps.check_limits import step_check_limits
from thumbsmith.core.steps.crop import step_crop
from thumbsmith.core.steps.encode import step_encode
from thumbsmith.core.steps.flatten import step_flatten
from thumbsmith.core.steps.load import step_load
from thumbsmith.core.steps.orient import step_orient
from thumbsmith.core.steps.pad import step_pad
from thumbsmith.core.steps.placeholder import step_placeholder
from thumbsmith.core.steps.plan import step_plan
from thumbsmith.core.steps.resize_largest import step_resize_largest
from thumbsmith.core.steps.sniff import step_sniff
from thumbsmith.core.steps.to_srgb import step_to_srgb


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    run: Callable[[Job], None]
    needs: tuple[str, ...] = ()
    makes: tuple[str, ...] = ()


STEPS: tuple[Step, ...] = (
    Step("sniff", step_sniff, makes=("header",)),
    Step("check_limits", step_check_limits, needs=("header",), makes=("within_limits",)),
    Step("load", step_load, needs=("within_limits",), makes=("image", "source_size")),
    Step("plan", step_plan, needs=("source_size",), makes=("targets",)),
    Step("to_srgb", step_to_srgb, needs=("image",), makes=("srgb",)),
    Step("flatten", step_flatten, needs=("srgb",), makes=("flat",)),
    Step("resize_largest", step_resize_largest, needs=("flat", "targets"), makes=("largest",)),
    Step("orient", step_orient, needs=("largest",), makes=("upright",)),
    Step("cascade", step_cascade, needs=("upright",), makes=("resized",)),
    Step("crop", step_crop, needs=("resized",), makes=("cropped",)),
    Step("pad", step_pad, needs=("cropped",), makes=("outputs",)),
    Step("placeholder", step_placeholder, needs=("outputs",), makes=("placeholder",)),
    Step("animate", step_animate, needs=("outputs",), makes=("animated",)),
    Step("encode", step_encode, needs=("outputs", "animated"), makes=("renditions",)),
)


class PipelineOrderError(RuntimeError):
    pass


def check_order(steps: Sequence[Step]) -> None:
    """Raise :class:`PipelineOrderError` if a step comes before something it needs."""
    made: set[str] = set()
    for step in steps:
        missing = [need for need in step.needs if need not in made]
        if missing:
            raise PipelineOrderError(f"step {step.name!r} runs before {missing} is made")
        made.update(step.makes)


def run(job: Job, steps: Sequence[Step] = STEPS) -> Job:
    check_order(steps)
    for step in steps:
        step.run(job)
    return job
