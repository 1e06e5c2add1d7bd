"""How close each stored rendition is to the pixels it was encoded from (SSIM), so a
person can see the "every format looks the same" promise kept (the serve page)."""

from __future__ import annotations

from collections.abc import Mapping

from thumbsmith.errors import ThumbsmithError
from thumbsmith.service.ports import Store
from thumbsmith.service.process import ProcessConfig
from thumbsmith.service.source import hints_of

Output = tuple[str, str]  # (rendition name, format)


def stored_scores(
    store: Store, config: ProcessConfig, bucket: str, key: str, outputs: Mapping[Output, str]
) -> dict[Output, float]:
    """SSIM of each stored output (``outputs``: (name, format) -> its key in the output
    bucket) against the source rendered again without encoding. Seconds for a large
    photo; empty when the source or an output cannot be read."""
    from thumbsmith.core import similarity  # lazy: pyvips loads only when needed

    names = config.rules.names_for(key, [s.name for s in config.specs])
    specs = tuple(s for s in config.specs if s.name in names)
    out_bucket = config.keys.output_bucket(bucket)
    try:
        source, info = store.get(bucket, key)
        encoded = {output: store.get(out_bucket, out_key)[0] for output, out_key in outputs.items()}
        return similarity.scores(source, specs, config.options, encoded, hints_of(info))
    except ThumbsmithError:
        return {}
