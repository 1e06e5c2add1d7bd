"""Queues: SQS and SQS-compatible servers (:mod:`.sqs`), implementing
:class:`thumbsmith.service.ports.Queue`."""
