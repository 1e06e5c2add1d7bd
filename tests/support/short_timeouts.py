"""``python tests/support/short_timeouts.py ARGS`` = ``thumbsmith ARGS``, with a short
S3/SQS read timeout (THUMBSMITH_READ_TIMEOUT) and botocore's retry decisions logged, for
the fault-injection tests.

The setup is at module level on purpose: backfill and worker start their pools with
"spawn", and a spawned child re-runs the parent's main module (as ``__mp_main__``), so
every process of the run gets the same timeout and logging.
"""

from __future__ import annotations

import logging
import os
import sys

# A stall in the proxy must outlast this, and a test must not wait out 60 s per stall.
os.environ.setdefault("THUMBSMITH_READ_TIMEOUT", os.environ.get("RELIABILITY_READ_TIMEOUT", "2"))
logging.basicConfig(level=logging.WARNING, format="%(process)d %(levelname)s %(name)s: %(message)s")
logging.getLogger("botocore.retries").setLevel(logging.DEBUG)

if __name__ == "__main__":
    from thumbsmith.cli import main

    sys.exit(main(sys.argv[1:]))
