"""Typed errors, each one permanent or transient.

Callers decide what to retry from ``permanent`` alone: a bad image will be just as
bad on the next try, a reset connection may not be. Every message names the object.
"""

from __future__ import annotations


class ThumbsmithError(Exception):
    """Base class. ``permanent`` errors are recorded and never retried."""

    permanent: bool = True
    kind: str = "error"

    def __init__(self, reason: str, *, object_name: str | None = None) -> None:
        self.reason = reason
        self.object_name = object_name
        super().__init__(f"{object_name}: {reason}" if object_name else reason)

    def for_object(self, object_name: str) -> ThumbsmithError:
        """Return this error naming ``object_name`` (keeps the type)."""
        if self.object_name == object_name:
            return self
        clone = type(self).__new__(type(self))
        ThumbsmithError.__init__(clone, self.reason, object_name=object_name)
        clone.__dict__.update(
            {k: v for k, v in self.__dict__.items() if k not in {"reason", "object_name"}}
        )
        clone.__cause__ = self.__cause__ or self
        return clone


class ConfigError(ThumbsmithError):
    """A setting is invalid; raised at start-up and names the setting."""

    kind = "config"


class SpecError(ThumbsmithError):
    """A rendition spec is invalid. The message names where its text came from (a
    setting, a request), so the settings turn it into a :class:`ConfigError` and the
    on-demand origin into a 400; in itself it is permanent, never retried."""

    kind = "bad_spec"


class BadRequest(ThumbsmithError):
    """An HTTP request asks for something the origin never makes (a bad parameter, a
    box over the limits): the client's error, answered 400 and never retried."""

    kind = "bad_request"


# --- image errors: permanent -------------------------------------------------


class ImageError(ThumbsmithError):
    """The source cannot become renditions, and retrying will not change that."""

    kind = "image"


class UnsupportedFormat(ImageError):
    """The bytes are not one of the allowed formats (sniffed, never the extension)."""

    kind = "unsupported_format"


class ImageTooLarge(ImageError):
    """A limit (pixels, bytes, frames) is exceeded; checked from the header before decoding."""

    kind = "too_large"


class CorruptImage(ImageError):
    """The header or pixel data is broken or truncated."""

    kind = "corrupt"


class DecoderTimeout(ImageError):
    """Decoding took longer than the configured bound (hostile or pathological input)."""

    kind = "decoder_timeout"


class DecoderUnavailable(ImageError):
    """The format is allowed but its decoder is missing or switched off (e.g. no Ghostscript)."""

    kind = "decoder_unavailable"


# --- storage and event errors -------------------------------------------------


class StorageError(ThumbsmithError):
    kind = "storage"


class ObjectNotFound(StorageError):
    """The object does not exist (HTTP 404 / NoSuchKey / missing file)."""

    kind = "not_found"


class BucketNotFound(StorageError):
    """The bucket does not exist or is not reachable under that name.

    Not permanent: the image is fine and a fixed setting or a created bucket makes the
    retry succeed, so the event must stay on its queue (and reach the DLQ), not be
    acknowledged and lost.
    """

    permanent = False
    kind = "no_bucket"


class AccessDenied(StorageError):
    """Credentials or policy refuse the operation; a human must fix it, then retries work.

    Not permanent, for the same reason as :class:`BucketNotFound`.
    """

    permanent = False
    kind = "access_denied"


class UnsafeKey(StorageError):
    """A key that would escape its bucket folder (``..``, absolute, NUL) or cannot be stored."""

    kind = "unsafe_key"


class TransientError(StorageError):
    """Network errors, throttling and 5xx: retry later."""

    permanent = False
    kind = "transient"


class NotifyError(ThumbsmithError):
    """A "renditions ready" notification was not delivered. The renditions and the
    manifest are written; the event is retried so the notification is sent again."""

    permanent = False
    kind = "notify_failed"


class BadEvent(ThumbsmithError):
    """A payload that is not any event shape thumbsmith understands."""

    kind = "bad_event"
