"""SQS (or an SQS-compatible queue) as a :class:`~thumbsmith.adapters.queue.Queue`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from thumbsmith.adapters.aws import map_error
from thumbsmith.errors import TransientError
from thumbsmith.service.ports import Message

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

BATCH = 10  # SendMessageBatch's limit
_RESEND_ATTEMPTS = 5

T = TypeVar("T")


class SqsQueue:
    def __init__(self, client: SQSClient, url: str) -> None:
        self.client = client
        self.url = url

    @property
    def region(self) -> str:
        return self.client.meta.region_name or "us-east-1"

    def _call(self, action: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as exc:
            raise map_error(exc, where=self.url, action=action) from exc

    def has_redrive(self) -> bool:
        """Whether the queue moves messages to a DLQ; raises ConfigError if it is missing."""
        attrs = self._call(
            "GetQueueAttributes",
            lambda: self.client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["RedrivePolicy"]
            ),
        ).get("Attributes", {})
        return "RedrivePolicy" in attrs

    def receive(self, max_messages: int, *, wait: int, visibility: int) -> list[Message]:
        resp = self._call(
            "ReceiveMessage",
            lambda: self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max(1, min(10, max_messages)),
                WaitTimeSeconds=wait,
                VisibilityTimeout=visibility,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            ),
        )
        return [
            Message(
                id=m["MessageId"],
                receipt=m["ReceiptHandle"],
                body=m.get("Body", ""),
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            )
            for m in resp.get("Messages", [])
        ]

    def delete(self, receipt: str) -> None:
        self._call(
            "DeleteMessage",
            lambda: self.client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt),
        )

    def change_visibility(self, receipt: str, timeout: int) -> None:
        self._call(
            "ChangeMessageVisibility",
            lambda: self.client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=timeout
            ),
        )

    def send_batch(self, bodies: Sequence[str]) -> None:
        """Send up to :data:`BATCH` bodies; resend the entries SQS reports failed."""
        pending: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)
        ]
        for _ in range(_RESEND_ATTEMPTS):
            resp = self._call(
                "SendMessageBatch",
                lambda entries=pending: self.client.send_message_batch(  # type: ignore[misc]
                    QueueUrl=self.url, Entries=entries
                ),
            )
            failed = resp.get("Failed", [])
            if not failed:
                return
            sender_fault = [f for f in failed if f.get("SenderFault")]
            if sender_fault:
                first = sender_fault[0]
                raise TransientError(
                    f"SQS refused {len(sender_fault)} message(s): {first.get('Code')} "
                    f"{first.get('Message', '')}"
                )
            ids = {f["Id"] for f in failed}
            pending = [e for e in pending if e["Id"] in ids]
        raise TransientError(f"SQS kept failing {len(pending)} message(s) of a batch")
