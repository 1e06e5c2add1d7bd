"""Step ``sniff``: the format from magic bytes, and size and frames from the header."""

from __future__ import annotations

from thumbsmith.core.decoders.sniff import sniff
from thumbsmith.core.job import Job


def step_sniff(job: Job) -> None:
    job.header = sniff(job.data)
