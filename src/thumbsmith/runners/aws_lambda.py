"""The AWS Lambda runner; its stable entry point is ``thumbsmith.aws_lambda.handler``.

* SQS batches (S3 -> SQS, S3 -> SNS -> SQS, EventBridge -> SQS): Powertools'
  ``BatchProcessor`` reports exactly the failed records in ``batchItemFailures``. What
  fails a record is decided by :func:`thumbsmith.service.dispatch.handle` (shared with the
  worker): a transient failure or an unparseable body (poison, which the queue's redrive
  policy moves to the DLQ after maxReceiveCount). A permanent image failure is logged as
  ``permanent_failure``, counted, and its message acknowledged.
* S3 Batch Operations (invocation schema 1.0 and 2.0): each task is processed and
  answered in the shape Batch expects (:mod:`thumbsmith.runners.s3_batch`), with
  ``Succeeded``, ``TemporaryFailure`` (Batch retries it) or ``PermanentFailure``.
* Function-URL requests (payload 2.0): the on-demand origin app answers them
  (:mod:`thumbsmith.runners.function_url`); every answer adds EMF metrics (hits,
  misses, waits, renders, bytes, render ms). Settings that do not load, or no
  THUMBSMITH_ORIGIN_BUCKET: one ``configuration error`` line and a 500 ``no-store``.
* Anything else (S3 direct, SNS, EventBridge, MinIO webhook bodies): every record is
  processed, then the invocation raises only if one failed transiently, so Lambda's own
  retry redoes it (idempotence makes the records that succeeded cheap the second time).

Settings, the S3 client, the :class:`Processor` and the origin app are built once per
container, on the first invocation that needs them (through the same
:func:`thumbsmith.runners.bootstrap.start` as every other runner, so
THUMBSMITH_VIPS_CONCURRENCY and the log level apply here too), and reused while the
container lives.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from thumbsmith.errors import ConfigError
from thumbsmith.http.origin.app import Answered
from thumbsmith.runners import bootstrap, function_url, s3_batch
from thumbsmith.service.dispatch import Handled, Verdict, handle
from thumbsmith.service.events import quote_payload
from thumbsmith.service.process import Processor
from thumbsmith.settings import Settings, load

NAMESPACE = "thumbsmith"

# The "thumbsmith" logger that the service layer writes to becomes JSON lines.
logger = Logger(service="thumbsmith")
metrics = Metrics(namespace=NAMESPACE, service="thumbsmith")

# A test event or an all-skipped batch has no metrics; that is normal, not a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

_UNITS = {
    "ProcessingTime": MetricUnit.Milliseconds,
    "BytesIn": MetricUnit.Bytes,
}

_settings: Settings | None = None
_processor: Processor | None = None
_origin: function_url.FunctionUrlOrigin | None = None


class RetryableFailure(Exception):
    """Raised to make Lambda (or the SQS batch processor) retry; the message says why."""


def settings() -> Settings:
    """The container's settings, loaded (and validated) on first use."""
    global _settings
    if _settings is None:
        try:
            _settings = load()
        except ConfigError as exc:
            # One line in the function's log that names the setting; the invocation fails.
            logger.error(f"configuration error: {exc}")
            raise ConfigError(exc.reason) from None
        bootstrap.start(_settings)
        logger.setLevel(_settings.log_level.upper())
    return _settings


def processor() -> Processor:
    """The container's Processor on an S3Store, built on first use."""
    global _processor
    if _processor is None:
        s = settings()
        _processor = bootstrap.processor(bootstrap.s3_store(s), s)
    return _processor


def origin() -> function_url.FunctionUrlOrigin:
    """The container's on-demand origin app (function-URL requests), built on first use."""
    global _origin
    if _origin is None:
        s = settings()
        try:
            _origin = function_url.FunctionUrlOrigin(s, report=report_request)
        except ConfigError as exc:
            logger.error(f"configuration error: {exc}")
            raise ConfigError(exc.reason) from None
    return _origin


def use(processor: Processor | None, settings: Settings | None = None) -> None:
    """Install ``processor`` (built from ``settings``) as the container's, or forget both;
    the origin app is rebuilt from them (or from the environment) on its next request.

    For tests and for embedding the handler in another function.
    """
    global _processor, _settings, _origin
    _processor = processor
    _settings = settings if processor is not None else None
    _origin = None
    if settings is not None:
        bootstrap.start(settings)


def record_metric(name: str, value: float, dimensions: Mapping[str, str]) -> None:
    unit = _UNITS.get(name, MetricUnit.Count)
    if dimensions:
        # A dimension applies to every metric of a Metrics flush, so metrics with their
        # own dimension (failures by kind) go out as single EMF blobs.
        with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
            for key, dim in dimensions.items():
                metric.add_dimension(name=key, value=dim)
    else:
        metrics.add_metric(name=name, unit=unit, value=value)


def report_request(answered: Answered) -> None:
    """One origin answer's metrics, flushed as EMF with the invocation's."""
    for name, unit, value in function_url.metrics_of(answered):
        metrics.add_metric(name=name, unit=unit, value=value)


def _function_url(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        app = origin()
    except ConfigError:
        # Already logged, naming the setting; the viewer learns only where to look.
        return function_url.error(500, "the origin is not configured; see the function's log")
    return app(event, context)


def _is_sqs_batch(event: object) -> bool:
    if not isinstance(event, dict):
        return False
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)
    )


def _sqs_record(record: SQSRecord) -> str:
    handled = handle(record.body, processor(), record_metric)
    if not handled.ok:
        raise RetryableFailure(f"{handled.verdict.value}: {handled.error}")
    return handled.verdict.value


def _summary(handled: Handled) -> dict[str, Any]:
    return {
        "verdict": handled.verdict.value,
        "outcomes": [o.as_log() for o in handled.outcomes],
        "permanent_failures": [str(e) for e in handled.permanent],
        "error": handled.error,
    }


@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        logger.append_keys(request_id=request_id)
    if function_url.is_request(event):
        return _function_url(event, context)
    proc = processor()  # settings errors surface here, before any record is touched

    if s3_batch.is_batch_event(event):
        return s3_batch.respond(event, proc, record_metric)

    if _is_sqs_batch(event):
        batch = BatchProcessor(
            event_type=EventType.SQS,
            # An all-failed batch is a normal answer here (e.g. S3 briefly down); report
            # it record by record instead of failing the invocation as a whole.
            raise_on_entire_batch_failure=False,
        )
        response = process_partial_response(
            event=event, record_handler=_sqs_record, processor=batch, context=context
        )
        return dict(response)

    handled = handle(event, proc, record_metric)
    if handled.verdict is Verdict.RETRY:
        raise RetryableFailure(handled.error)
    if handled.verdict is Verdict.POISON:
        # Retrying an event we cannot read gives the same answer: say so and stop.
        logger.error("unparseable event not retried", extra={"event": quote_payload(event)})
    return _summary(handled)
