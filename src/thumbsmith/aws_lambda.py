"""The stable AWS Lambda handler path: ``thumbsmith.aws_lambda.handler``.

The SAM template and every deployed function name this module; the runner itself lives
in :mod:`thumbsmith.runners.aws_lambda` and may move without breaking them.
"""

from thumbsmith.runners.aws_lambda import RetryableFailure, handler, processor, settings, use

__all__ = ["RetryableFailure", "handler", "processor", "settings", "use"]
