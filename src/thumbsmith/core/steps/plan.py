"""Step ``plan``: each rendition's upright resize and output size, largest resize first."""

from __future__ import annotations

from thumbsmith.core.job import Job, PlannedOutput
from thumbsmith.core.spec import plan_size


def step_plan(job: Job) -> None:
    sw, sh = job.require_source_size()
    targets = []
    for i, spec in enumerate(job.specs):
        rw, rh, ow, oh = plan_size(spec, sw, sh)
        targets.append(PlannedOutput(i, spec, ow, oh, rw, rh))
    # By resized area, not box area: a 2000x200 box can give a smaller image than a
    # 500x500 one, and the cascade must never enlarge.
    job.targets = sorted(targets, key=lambda t: t.resize[0] * t.resize[1], reverse=True)
