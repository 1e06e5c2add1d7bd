"""Step ``plan``: each rendition's upright output size, largest first."""

from __future__ import annotations

from thumbsmith.core.job import Job, Target


def step_plan(job: Job) -> None:
    sw, sh = job.require_source_size()
    targets = [Target(i, spec, *spec.fit(sw, sh)) for i, spec in enumerate(job.specs)]
    # By output area, not box area: a 2000x200 box can give a smaller image than a
    # 500x500 one, and the cascade must never enlarge.
    job.targets = sorted(targets, key=lambda t: t.width * t.height, reverse=True)
