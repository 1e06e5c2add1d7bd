"""Every setting, defined once: name, type, default and description.

Each field of :class:`Settings` is one setting. Its environment variable is
``THUMBSMITH_<NAME>``; a TOML file (``--config``, ``$THUMBSMITH_CONFIG`` or
``./thumbsmith.toml``) may set it too, with the environment winning over the file and
the file over the default. ``thumbsmith config`` prints them all from this module, and
``docs/settings.md`` is generated from it (``thumbsmith config --markdown``).

A bad value stops start-up with a :class:`ConfigError` that names the setting.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from thumbsmith.core.formats import EXTENSIONS, OUTPUT_NAMES
from thumbsmith.core.options import RenderOptions
from thumbsmith.core.quality import MATCH, Quality
from thumbsmith.core.spec import (
    DEFAULT_RENDITIONS,
    RenditionSpec,
    format_renditions,
    parse_renditions,
    renditions_from_tables,
)
from thumbsmith.endpoints import check_aws_environment, check_endpoint
from thumbsmith.errors import ConfigError, SpecError
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ondemand.keys import KeyReader, adhoc_source
from thumbsmith.service.ondemand.params import Limits
from thumbsmith.service.ondemand.requests import DEFAULT_ADHOC_TEMPLATE
from thumbsmith.service.ondemand.signing import parse_keys
from thumbsmith.service.rules import Rule, format_rules, parse_rules, rules_from_tables

ENV_PREFIX = "THUMBSMITH_"
CONFIG_ENV = "THUMBSMITH_CONFIG"
DEFAULT_FILE = "thumbsmith.toml"

Check = Callable[[Any], object]


HIDDEN = "'<hidden>'"
#: The core's own defaults: the render settings take theirs from here, so the two can
#: never disagree.
_RENDER = RenderOptions()


def setting(
    default: Any,
    help: str,
    *,
    group: str,
    check: Check | None = None,
    secret: bool = False,
    coerce: Callable[[Any], Any] | None = None,
) -> Any:
    """Declare a setting. ``check`` raises ``ValueError`` with a reason for a bad value.

    A ``secret`` setting (a token, a signing key) is never printed: ``thumbsmith config``,
    error messages and the settings' repr show that it is set, not what it is.
    ``coerce`` reads a raw value (text from the environment, a TOML value) where the
    default's type cannot say how, e.g. a number or ``"match"``.
    """
    return field(
        default=default,
        repr=not secret,
        metadata={
            "help": help,
            "group": group,
            "check": check,
            "secret": secret,
            "coerce": coerce,
        },
    )


def is_secret(f: dataclasses.Field[Any]) -> bool:
    return bool(f.metadata.get("secret"))


def shown(f: dataclasses.Field[Any], value: Any) -> str:
    """How a value may be printed: its repr, or for a secret only whether it is set."""
    if is_secret(f):
        return HIDDEN if value else "''"
    return repr(value)


def _between(low: float, high: float) -> Check:
    def check(value: float) -> None:
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")

    return check


def _quality(raw: Any) -> Quality:
    """``"match"`` or a whole number 1..100 (text from the environment, or TOML)."""
    if isinstance(raw, str) and raw.strip().lower() == MATCH:
        return MATCH
    if isinstance(raw, bool | float):
        raise ValueError(f"expected {MATCH!r} or a whole number 1-100")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"expected {MATCH!r} or a whole number 1-100") from None
    if not 1 <= value <= 100:
        raise ValueError(f"must be {MATCH!r} or between 1 and 100")
    return value


_HEX_COLOUR = re.compile(r"^#?[0-9a-fA-F]{6}$")


def _colour(value: str) -> None:
    if not _HEX_COLOUR.match(value):
        raise ValueError("must be a hex colour like '#ffffff'")


def _template(value: str) -> None:
    if "{key}" not in value:
        raise ValueError("must contain '{key}' so that distinct sources never share a rendition")
    unknown = set(re.findall(r"{([^}]*)}", value)) - {"rendition", "key", "ext", "bucket"}
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {sorted(unknown)}; use rendition, key, ext, bucket"
        )
    if value.startswith("/"):
        raise ValueError("must be a relative key, not start with '/'")
    # Each placeholder stands for something non-empty, so a bad segment here is the
    # template's own: '..' or '.' would leave the output folder on a local store (and
    # S3-compatible stores disagree on them), '' is a '//' or a trailing '/'.
    for segment in re.sub(r"{[^}]*}", "x", value).split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(
                "makes keys with an empty, '.' or '..' segment ('//', a trailing '/', "
                "'./' or '../'); S3-compatible stores disagree on such keys"
            )


_META_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _metadata_names(value: str) -> None:
    for name in (n.strip() for n in value.split(",")):
        if not name:
            continue
        if not _META_NAME.match(name):
            raise ValueError(f"{name!r} is not a user metadata name (lower-case, digits, '-', '_')")
        if name.startswith("thumbsmith-"):
            raise ValueError(f"{name!r}: names starting with 'thumbsmith-' are thumbsmith's own")


def _http_url(value: str) -> None:
    if value and not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("must be an http:// or https:// URL (or empty: off)")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(value: str) -> None:
    if value.upper() not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")


#: Next.js's default ``imageSizes`` + ``deviceSizes``: the widths its ``<Image>`` asks a
#: loader for.
NEXT_WIDTHS = (16, 32, 48, 64, 96, 128, 256, 384, 640, 750, 828, 1080, 1200, 1920, 2048, 3840)


def _width_list(value: str) -> None:
    for item in (n.strip() for n in value.split(",")):
        if item and (not (item.isascii() and item.isdigit()) or not 1 <= int(item) <= 16384):
            raise ValueError(f"{item!r} is not a width in pixels (1-16384), e.g. 640,1080")


def _base_url(value: str) -> None:
    if not value:
        return
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError(
            "must be an absolute http:// or https:// URL, e.g. 'https://cdn.example.com/' "
            "(or empty: the URLs are the keys)"
        )
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError("must not have a query or fragment: the key is appended to it")


def _bucket_template(value: str) -> None:
    if not value or set(re.findall(r"{([^}]*)}", value)) - {"bucket"}:
        raise ValueError("must be a bucket name, optionally with '{bucket}'")


def _bucket_name(value: str) -> None:
    # S3's rules for new buckets; empty means "not set" (checked where it is needed).
    if value and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        raise ValueError(
            "must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit"
        )


def _signing_keys(value: str) -> None:
    if any(len(k) < 16 for k in parse_keys(value)):
        raise ValueError(
            "each key must be at least 16 characters (a random one: openssl rand -hex 32)"
        )


def _adhoc_template(value: str) -> None:
    unknown = set(re.findall(r"{([^}]*)}", value)) - {"key", "id", "ext", "bucket"}
    if unknown:
        raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; use key, id, ext, bucket")
    for name in ("key", "id", "ext"):
        if value.count("{" + name + "}") != 1:
            raise ValueError(f"must contain '{{{name}}}' once")
    tail = value.partition("{key}")[2]
    if not tail.startswith("/") or "{bucket}" in tail or "{id}" not in tail or "{ext}" not in tail:
        raise ValueError(
            "must have '{key}/' before '{id}' and '{ext}' (and '{bucket}', if any, before "
            "it), so one prefix holds every variant of a source"
        )
    _template(value.replace("{id}", "{rendition}"))


def _format_list(value: str) -> None:
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    bad = [n for n in names if n not in OUTPUT_NAMES]
    if bad or not names:
        raise ValueError(f"{', '.join(bad) or 'none'}: use formats from {', '.join(EXTENSIONS)}")


def _listen(value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:8090")


@dataclass(frozen=True)
class Settings:
    # --- renditions -------------------------------------------------------------
    renditions: str = setting(
        DEFAULT_RENDITIONS,
        "Renditions to make, as 'name=BOX[:token]...' separated by commas: BOX is W (a WxW "
        "box), WxH, Wx (width only: '1280x' is 1280 wide, any height) or xH (height only; "
        "one-sided boxes are for fit inside), each side 1..16384 px; tokens: a fit "
        "(inside, cover, contain, fill), a position for cover (center, entropy, attention), "
        "formats joined by '+' with an optional @quality for the lossy ones "
        "(avif@45+webp+jpeg), upscale, animated. Names are unique ignoring case. E.g. "
        "'large=1280:avif+webp+jpeg,card=400x300:cover:attention:webp+jpeg'. The settings file "
        "may give [renditions.NAME] tables instead (see docs/renditions.md).",
        group="renditions",
        check=parse_renditions,
    )
    rules: str = setting(
        "",
        "Renditions per source prefix, 'PREFIX=NAME+NAME' separated by ';' (or [[rules]] "
        "tables in the settings file): a source gets the rule with the longest matching "
        "prefix, every rendition when none matches. Rule prefixes are processed besides "
        "THUMBSMITH_PREFIX.",
        group="renditions",
        check=parse_rules,
    )
    quality: int = setting(
        _RENDER.quality,
        "JPEG quality (1-100). WebP and AVIF at 'match' are matched to q85.",
        group="renditions",
        check=_between(1, 100),
    )
    webp_quality: int | str = setting(  # Quality: a number or 'match'
        _RENDER.webp_quality,
        "WebP quality: 'match' (as good as the JPEG q85 beside it, in SSIM, per size class; "
        "see `thumbsmith config` and bench/README.md) or a number 1-100. A rendition's own "
        "webp@N wins.",
        group="renditions",
        coerce=_quality,
    )
    webp_effort: int = setting(
        _RENDER.webp_effort,
        "WebP encoder effort (0-6): more is slower and smaller.",
        group="renditions",
        check=_between(0, 6),
    )
    avif_quality: int | str = setting(  # Quality: a number or 'match'
        _RENDER.avif_quality,
        "AVIF quality: 'match' (as good as the JPEG q85 beside it, in SSIM, per size class; "
        "see `thumbsmith config` and bench/README.md) or a number 1-100. A rendition's own "
        "avif@N wins.",
        group="renditions",
        coerce=_quality,
    )
    avif_effort: int = setting(
        _RENDER.avif_effort,
        "AVIF (aom) encoder effort (0-9): each step up costs 1.5-3x the time for a few "
        "percent fewer bytes.",
        group="renditions",
        check=_between(0, 9),
    )
    progressive: bool = setting(
        _RENDER.progressive, "Write progressive (interlaced) JPEGs.", group="renditions"
    )
    optimize: bool = setting(
        _RENDER.optimize,
        "Optimise the JPEG Huffman tables (smaller files, same pixels).",
        group="renditions",
    )
    background: str = setting(
        "#{:02x}{:02x}{:02x}".format(*_RENDER.background),
        "Colour that transparent pixels are flattened onto, since JPEG has no alpha.",
        group="renditions",
        check=_colour,
    )
    strip_metadata: bool = setting(
        _RENDER.strip_metadata,
        "Strip EXIF, GPS, XMP and IPTC from renditions. The pixels are converted to sRGB either "
        "way, so no profile is needed to show them right.",
        group="renditions",
    )

    # --- limits and decoders ---------------------------------------------------------
    max_pixels: int = setting(
        _RENDER.max_pixels,
        "Largest source accepted, in pixels (width x height, summed over frames where the "
        "format has several). Checked from the header before any decoding.",
        group="limits",
        check=_between(1, 2**40),
    )
    max_bytes: int = setting(
        _RENDER.max_bytes,
        "Largest source file accepted, in bytes (50 MiB).",
        group="limits",
        check=_between(1, 2**40),
    )
    max_frames: int = setting(
        _RENDER.max_frames,
        "Most frames (animation frames, TIFF pages) a source may declare. Only the first is "
        "rendered.",
        group="limits",
        check=_between(1, 1_000_000),
    )
    decode_timeout: float = setting(
        _RENDER.decode_timeout,
        "Seconds one image may take to decode and render before it fails as DecoderTimeout.",
        group="limits",
        check=_between(0.1, 3600),
    )
    eps_enabled: bool = setting(
        _RENDER.eps_enabled,
        "Accept EPS sources (rendered by Ghostscript in a sandbox).",
        group="limits",
    )
    ghostscript: str = setting(
        _RENDER.ghostscript,
        "Ghostscript executable for EPS (a name on PATH or a path).",
        group="limits",
    )
    eps_timeout: float = setting(
        _RENDER.eps_timeout,
        "Seconds Ghostscript may run for one EPS before it is killed.",
        group="limits",
        check=_between(0.1, 600),
    )
    eps_memory_mb: int = setting(
        _RENDER.eps_memory_mb,
        "Address-space limit for the Ghostscript process, in MiB.",
        group="limits",
        check=_between(64, 65536),
    )
    vips_concurrency: int = setting(
        1,
        "libvips worker threads per process. Parallelism comes from worker processes, so 1 is "
        "fastest for throughput; 0 lets libvips use every core.",
        group="limits",
        check=_between(0, 256),
    )

    # --- buckets and keys ------------------------------------------------------------
    prefix: str = setting(
        "images/", "Only source keys under this prefix are processed.", group="keys"
    )
    output_bucket: str = setting(
        "{bucket}-output",
        "Bucket the renditions are written to; '{bucket}' is the source bucket.",
        group="keys",
        check=_bucket_template,
    )
    key_template: str = setting(
        "{rendition}/{key}.{ext}",
        "Key of each rendition. '{key}' is the whole source key, so distinct sources never "
        "collide: images/cat.png -> large/images/cat.png.jpg.",
        group="keys",
        check=_template,
    )
    cache_control: str = setting(
        "public, max-age=86400",
        "Cache-Control written with each rendition.",
        group="keys",
    )

    copy_metadata: str = setting(
        "",
        "Comma-separated names of the source's user metadata (x-amz-meta-NAME) copied onto "
        "each rendition, e.g. 'author,licence'. Empty: none.",
        group="keys",
        check=_metadata_names,
    )

    # --- manifest and notifications -------------------------------------------------
    placeholders: bool = setting(
        _RENDER.placeholders,
        "Put a ThumbHash, the mean colour and a tiny WebP data URI in each manifest.",
        group="manifest",
    )
    public_base_url: str = setting(
        "",
        "Where the output bucket is served: each manifest URL (srcset, src) is this, one "
        "'/', then the key, e.g. 'https://cdn.example.com/' or 'https://example.com/media'. "
        "An absolute http(s) URL; empty: the URL is the key itself.",
        group="manifest",
        check=_base_url,
    )
    manifest_main: str = setting(
        "",
        "Rendition whose fit group is the manifest's main one (srcset, next, astro, "
        "eleventy), the same for every source. Empty: the group of the rendition with the "
        "largest box (width x height). A source whose rule gives it none of that group "
        "gets the group of its own largest box.",
        group="manifest",
    )
    notify_eventbridge_bus: str = setting(
        "",
        "EventBridge bus that gets a 'Renditions Ready' / 'Renditions Deleted' event "
        "(source 'thumbsmith', the manifest as detail) per source. Empty: none.",
        group="manifest",
    )
    notify_webhook_url: str = setting(
        "",
        "URL that gets the manifest as an HTTP POST per source, signed in the "
        "X-Thumbsmith-Signature header. Empty: none.",
        group="manifest",
        check=_http_url,
    )
    notify_webhook_secret: str = setting(
        "",
        "HMAC-SHA256 key that signs each webhook body (required with notify_webhook_url).",
        group="manifest",
        secret=True,
    )
    notify_timeout: float = setting(
        5.0,
        "Seconds one notification attempt may take.",
        group="manifest",
        check=_between(0.1, 60),
    )
    notify_attempts: int = setting(
        3,
        "Webhook attempts per notification (on 5xx, 408, 429 and connection errors), with "
        "jittered backoff; then the event fails and is retried like any other.",
        group="manifest",
        check=_between(1, 10),
    )

    # --- running ----------------------------------------------------------------------
    workers: int = setting(
        0,
        "Worker processes for backfill, watch and worker (0 = one per CPU core).",
        group="running",
        check=_between(0, 1024),
    )
    s3_endpoint_url: str = setting(
        "",
        "S3 endpoint, scheme://host[:port] (MinIO, SeaweedFS, Ceph RGW, R2). Empty: boto3's "
        "own choice, which honours AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL.",
        group="running",
        check=check_endpoint,
    )
    sqs_endpoint_url: str = setting(
        "",
        "SQS endpoint, scheme://host[:port]. Empty: boto3's own choice, which honours "
        "AWS_ENDPOINT_URL_SQS, then AWS_ENDPOINT_URL.",
        group="running",
        check=check_endpoint,
    )
    retry_attempts: int = setting(
        8,
        "botocore attempts per S3/SQS call (adaptive retry mode) for throttling and 5xx.",
        group="running",
        check=_between(1, 50),
    )
    read_timeout: float = setting(
        60.0,
        "Seconds to wait for an S3 or SQS response before botocore retries the call (an "
        "SQS long poll gets THUMBSMITH_POLL_WAIT on top).",
        group="running",
        check=_between(1, 900),
    )
    visibility_timeout: int = setting(
        120,
        "Worker: seconds a received message stays hidden; extended while the job runs.",
        group="running",
        check=_between(10, 43200),
    )
    poll_wait: int = setting(
        1,
        "Worker: SQS long-poll wait, seconds. A stop waits for the poll in progress (its "
        "messages are handed back), so it takes up to this long; 20 makes 20 times fewer "
        "empty receives when idle (86,400 a day become 4,320) but a stop takes up to 20 s.",
        group="running",
        check=_between(0, 20),
    )
    log_level: str = setting(
        "INFO",
        "Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL (any case).",
        group="running",
        check=_log_level,
    )

    # --- receive (bucket notifications over HTTP) ---------------------------------------
    receive_token: str = setting(
        "",
        "Bearer token that `thumbsmith receive` requires on every notification (MinIO's "
        "auth_token, SeaweedFS's bearer_token). Required to start receive; never printed.",
        group="receive",
        secret=True,
    )
    receive_max_bytes: int = setting(
        1_048_576,
        "Largest notification body `thumbsmith receive` reads, in bytes; larger gets 413.",
        group="receive",
        check=_between(1024, 2**30),
    )
    receive_timeout: float = setting(
        300.0,
        "Seconds `thumbsmith receive` gives one notification before answering 503 (the "
        "sender retries; the work goes on and the retry finds it done). Also how long "
        "SIGTERM waits for work in flight.",
        group="receive",
        check=_between(1, 3600),
    )

    # --- origin (on-demand renditions over HTTP) ----------------------------------------
    origin_bucket: str = setting(
        "",
        "The source bucket the on-demand origin reads when it runs on Lambda (behind a "
        "function URL); `thumbsmith origin` takes it from TARGET.",
        group="origin",
        check=_bucket_name,
    )
    origin_signing_keys: str = setting(
        "",
        "Keys that sign ad-hoc /img/ URLs (HMAC-SHA256), separated by commas, the newest "
        "first: URLs are signed with the first and accepted under any (rotation). Each at "
        "least 16 characters. Empty: ad-hoc renditions are refused (403); named ones work.",
        group="origin",
        secret=True,
        check=_signing_keys,
    )
    origin_key_template: str = setting(
        DEFAULT_ADHOC_TEMPLATE,
        "Key of each ad-hoc (signed, any box) rendition in the output bucket: '{key}/' (the "
        "source key) before '{id}' (the canonical options, e.g. w640-h480-cover-attention) "
        "and '{ext}', so one prefix delete clears every variant of a source. Must not "
        "produce keys the key template does.",
        group="origin",
        check=_adhoc_template,
    )
    origin_max_side: int = setting(
        4096,
        "Largest width or height an ad-hoc request may ask for, in pixels.",
        group="origin",
        check=_between(1, 16384),
    )
    origin_max_pixels: int = setting(
        16_777_216,
        "Largest box (w x h) an ad-hoc request may ask for, in pixels.",
        group="origin",
        check=_between(1, 2**28),
    )
    origin_max_quality: int = setting(
        100,
        "Highest q= an ad-hoc request may ask for (1-100).",
        group="origin",
        check=_between(1, 100),
    )
    origin_formats: str = setting(
        "jpeg,webp,avif,png",
        "Formats ad-hoc requests may ask for (f=), separated by commas; f=auto chooses among them.",
        group="origin",
        check=_format_list,
    )
    origin_widths: str = setting(
        ",".join(str(w) for w in NEXT_WIDTHS),
        "Widths anyone may ask for unsigned as /img/{key}?w=W[&f=] (fit inside), separated "
        "by commas: the default is Next.js's imageSizes + deviceSizes, so its custom loader "
        "(the manifest's 'loader') works without a secret. Empty: every ad-hoc URL is signed.",
        group="origin",
        check=_width_list,
    )
    origin_public_url: str = setting(
        "",
        "Where the origin is reached from browsers, e.g. 'https://img.example.com/'. When "
        "set, each manifest names the on-demand URL pattern ('loader': this + "
        "'img/{key}?w={width}'); unsigned, so only origin_widths answer. Empty: no loader.",
        group="origin",
        check=_base_url,
    )
    origin_auto_order: str = setting(
        "avif,webp,jpeg,png",
        "Order of preference for f=auto among the formats the client's Accept names (a "
        "source with alpha prefers those that keep it).",
        group="origin",
        check=_format_list,
    )
    origin_cache_control: str = setting(
        "public, max-age=31536000, immutable",
        "Cache-Control of the origin's rendition answers (errors get short ones: 60 s for "
        "400/404/422, 10 s for 403, no-store for 5xx).",
        group="origin",
    )
    origin_render_timeout: float = setting(
        30.0,
        "Seconds one on-demand render may take before its render process is killed (503).",
        group="origin",
        check=_between(1, 900),
    )
    origin_queue: int = setting(
        16,
        "On-demand renders that may wait for a busy render process; beyond that the origin "
        "answers 503 with Retry-After.",
        group="origin",
        check=_between(0, 10_000),
    )
    origin_listen: str = setting(
        "127.0.0.1:8090",
        "HOST:PORT `thumbsmith origin` listens on (--listen wins); anything but loopback is "
        "reachable from other machines.",
        group="origin",
        check=_listen,
    )

    # --- derived ----------------------------------------------------------------------
    @cached_property
    def specs(self) -> tuple[RenditionSpec, ...]:
        return parse_renditions(self.renditions)

    @cached_property
    def rule_list(self) -> tuple[Rule, ...]:
        return parse_rules(self.rules, [s.name for s in self.specs])

    @cached_property
    def key_mapper(self) -> KeyMapper:
        """Where each source's renditions and manifest go (bucket and keys)."""
        specs = self.specs
        return KeyMapper(
            prefix=self.prefix,
            output_bucket_template=self.output_bucket,
            key_template=self.key_template,
            rendition_names=tuple(spec.name for spec in specs),
            rule_prefixes=tuple(rule.prefix for rule in self.rule_list),
            extensions=tuple(dict.fromkeys(EXTENSIONS[f] for spec in specs for f in spec.formats)),
        )

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Every source prefix processed: THUMBSMITH_PREFIX and every rule's."""
        return tuple(dict.fromkeys((self.prefix, *(r.prefix for r in self.rule_list))))

    @property
    def origin_keys(self) -> tuple[str, ...]:
        """The signing keys, the newest first."""
        return parse_keys(self.origin_signing_keys)

    @property
    def origin_limits(self) -> Limits:
        return Limits(
            max_side=self.origin_max_side,
            max_pixels=self.origin_max_pixels,
            max_quality=self.origin_max_quality,
            formats=_formats(self.origin_formats),
            widths=_widths(self.origin_widths),
        )

    @property
    def origin_order(self) -> tuple[str, ...]:
        return _formats(self.origin_auto_order)

    @property
    def background_rgb(self) -> tuple[int, int, int]:
        h = self.background.lstrip("#")
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)

    def source_of(self, name: str) -> str:
        """Where a setting's value came from: 'default', 'env' or the file's path."""
        sources: Mapping[str, str] = self.__dict__.get("_sources", {})
        return sources.get(name, "default")

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed (validated like any other source)."""
        merged = {f.name: getattr(self, f.name) for f in fields()}
        merged.update(changes)
        sources = {**self.__dict__.get("_sources", {}), **dict.fromkeys(changes, "code")}
        return _build(merged, sources)


def _widths(text: str) -> tuple[int, ...]:
    return tuple(sorted({int(n) for n in text.split(",") if n.strip()}))


def _formats(text: str) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(OUTPUT_NAMES[n.strip().lower()] for n in text.split(",") if n.strip())
    )


def fields() -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(Settings)


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _coerce(f: dataclasses.Field[Any], raw: Any) -> Any:
    if f.metadata.get("coerce") is not None:
        return f.metadata["coerce"](raw)
    kind: type = type(f.default)
    if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
        return raw
    if not isinstance(raw, str):
        if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
            return float(raw)
        raise ValueError(f"expected {kind.__name__}, got {type(raw).__name__}")
    text = raw.strip()
    if kind is bool:
        lowered = text.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ValueError("expected true or false")
    if kind is int:
        return int(text.replace("_", ""))
    if kind is float:
        return float(text)
    return raw


def _build(values: Mapping[str, Any], sources: Mapping[str, str]) -> Settings:
    parsed: dict[str, Any] = {}
    for f in fields():
        raw = values.get(f.name, f.default)
        try:
            value = _coerce(f, raw)
            check = f.metadata["check"]
            if check is not None:
                check(value)
        except (ValueError, ConfigError, SpecError) as exc:
            reason = exc.reason if isinstance(exc, ConfigError | SpecError) else str(exc)
            where = sources.get(f.name, "default")
            value_text = shown(f, raw) if is_secret(f) else repr(raw)
            raise ConfigError(
                f"setting {f.name!r} ({env_name(f.name)}, from {where}) = {value_text}: {reason}"
            ) from None
        parsed[f.name] = value
    result = Settings(**parsed)
    object.__setattr__(result, "_sources", dict(sources))
    try:
        result.rule_list  # noqa: B018  (rules name renditions: checked against them)
    except ConfigError as exc:
        where = sources.get("rules", "default")
        reason = str(exc).removeprefix("setting 'rules': ")
        raise ConfigError(
            f"setting 'rules' ({env_name('rules')}, from {where}): {reason}"
        ) from None
    _check_keys(result, sources)
    names = [spec.name for spec in result.specs]
    if result.manifest_main and result.manifest_main not in names:
        raise ConfigError(
            f"setting 'manifest_main' ({env_name('manifest_main')}, from "
            f"{sources.get('manifest_main', 'default')}) = {result.manifest_main!r}: "
            f"names no rendition; the renditions are {', '.join(names)}"
        )
    return result


def _check_keys(settings: Settings, sources: Mapping[str, str]) -> None:
    """What the templates do with every source, checked once here instead of failing each
    object: no two outputs of one source at one key, and, where the output bucket is
    always the source bucket, no rendition under a watched prefix."""

    def fail(name: str, exc: ConfigError) -> ConfigError:
        value = getattr(settings, name)
        where = sources.get(name, "default")
        return ConfigError(
            f"setting {name!r} ({env_name(name)}, from {where}) = {value!r}: {exc.reason}"
        )

    keys = settings.key_mapper
    try:
        keys.check_outputs_apart(settings.specs)
    except ConfigError as exc:
        raise fail("key_template", exc) from None
    try:
        _check_adhoc_apart(settings)
    except ConfigError as exc:
        raise fail("origin_key_template", exc) from None
    if settings.output_bucket == "{bucket}":
        # Any bucket will do; "{bucket}" itself reads right where the key template has it.
        try:
            keys.check_no_recursion("{bucket}")
        except ConfigError as exc:
            raise fail("output_bucket", exc) from None


def _check_adhoc_apart(settings: Settings) -> None:
    """No key the key template gives (a rendition, the manifest, a failure record) reads
    as an ad-hoc one, and no ad-hoc key as a rendition's: the origin would serve, and
    delete propagation delete, the wrong object."""
    keys, template = settings.key_mapper, settings.origin_key_template
    reader = KeyReader(
        keys, "bucket", {s.name: s for s in settings.specs}, template, settings.origin_limits
    )
    for sample in ("images/a.jpg", "images/a", "a"):
        named = keys.rendition_keys("bucket", sample) | {keys.manifest_key("bucket", sample)}
        if (failure := keys.failure_key("bucket", sample)) is not None:
            named.add(failure)
        for key in sorted(named):
            if adhoc_source(template, "bucket", key) is not None:
                raise ConfigError(f"{key!r}, a key the key template gives, reads as an ad-hoc one")
        for ext in sorted({EXTENSIONS[f] for f in settings.origin_limits.formats}):
            key = template.replace("{id}", "w640-inside").replace("{ext}", ext)
            key = key.replace("{bucket}", "bucket").replace("{key}", sample)
            if reader.read_named(key) is not None:
                raise ConfigError(f"ad-hoc key {key!r} reads as a rendition of the key template")


def _from_tables(key: str, value: Any) -> Any:
    """``[renditions.NAME]`` tables and ``[[rules]]`` arrays, in their compact form."""
    if key == "renditions" and isinstance(value, Mapping):
        return format_renditions(renditions_from_tables(value))
    if key == "rules" and isinstance(value, list):
        return format_rules(rules_from_tables(value))
    return value


def load(
    env: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
    **overrides: Any,
) -> Settings:
    """Defaults, then the TOML file, then ``THUMBSMITH_*`` variables, then ``overrides``.

    The ``AWS_ENDPOINT_URL*`` variables are checked too, in ``env`` when it is given, so a
    bad endpoint stops start-up here instead of in botocore's first call.
    """
    env = os.environ if env is None else env
    check_aws_environment(env)
    names = {f.name for f in fields()}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    path = Path(config_file) if config_file else None
    if path is None and env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
    if path is None and Path(DEFAULT_FILE).is_file():
        path = Path(DEFAULT_FILE)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {str(path)!r}: {exc}") from None
        table = dict(data.get("thumbsmith", data))
        for key in ("renditions", "rules"):  # top-level tables beside a [thumbsmith] one
            if key in data and key not in table:
                table[key] = data[key]
        for key, value in table.items():
            if key not in names:
                raise ConfigError(f"config file {str(path)!r}: unknown setting {key!r}")
            try:
                values[key], sources[key] = _from_tables(key, value), str(path)
            except (ConfigError, SpecError) as exc:
                raise ConfigError(f"config file {str(path)!r}: {exc}") from None

    for var, value in env.items():
        if not var.startswith(ENV_PREFIX) or var == CONFIG_ENV:
            continue
        name = var[len(ENV_PREFIX) :].lower()
        if name not in names:
            raise ConfigError(f"environment variable {var}: unknown setting {name!r}")
        values[name], sources[name] = value, "env"

    for name, value in overrides.items():
        if name not in names:
            raise ConfigError(f"unknown setting {name!r}")
        if value is not None:
            values[name], sources[name] = value, "command line"
    return _build(values, sources)


def describe(settings: Settings) -> list[dict[str, str]]:
    """One row per setting, for ``thumbsmith config``."""
    return [
        {
            "name": f.name,
            "env": env_name(f.name),
            "value": shown(f, getattr(settings, f.name)),
            "default": shown(f, f.default),
            "source": settings.source_of(f.name),
            "group": f.metadata["group"],
            "help": f.metadata["help"],
        }
        for f in fields()
    ]


#: How settings work, said once: docs/settings.md is generated, so it cannot drift.
_MARKDOWN_INTRO = (
    "# Settings",
    "",
    "Generated by `thumbsmith config --markdown` from `src/thumbsmith/settings.py`; edit "
    "that file, not this one.",
    "",
    "Every setting has an environment variable `THUMBSMITH_<NAME>` and may come from a TOML "
    "file (`--config FILE`, `$THUMBSMITH_CONFIG` or `./thumbsmith.toml`; `name = value` at "
    "its top level or in a `[thumbsmith]` table). In rising priority: the default, the "
    "file, the environment, the command line (`--renditions`). `thumbsmith config` prints "
    "every setting with its value and where it came from (`--json`: the same, "
    "machine-readable), then the parsed renditions and rules and the S3/SQS endpoints in "
    "effect:",
    "",
    "```sh",
    'THUMBSMITH_RENDITIONS="large=1280,medium=640,thumb=160x160" THUMBSMITH_QUALITY=80 '
    "uv run thumbsmith config",
    "```",
    "",
    "A bad value, or a `THUMBSMITH_*` variable or file key that names no setting, stops "
    "start-up with one line that names it. Booleans are `true`/`false`, `1`/`0`, `yes`/`no` "
    "or `on`/`off`. Renditions and rules may also be TOML tables: "
    "[renditions.md](renditions.md).",
)


def _secrets_paragraph() -> str:
    secret = ", ".join(f"`{f.name}`" for f in fields() if is_secret(f))
    return (
        f"Secret settings ({secret}) are never printed: `thumbsmith config` (also with "
        f"`--json`) shows `{HIDDEN}` for one that is set and `''` for one that is not, and a "
        "configuration error shows it the same way."
    )


def render_markdown() -> str:
    """The settings reference (docs/settings.md), generated from this module."""
    lines = [*_MARKDOWN_INTRO, "", _secrets_paragraph(), ""]
    group = None
    for row in describe(Settings()):
        if row["group"] != group:
            if group is not None:
                lines.append("")
            group = row["group"]
            lines += [f"## {group}", "", "| setting | env | default | description |"]
            lines += ["|---|---|---|---|"]
        lines.append(f"| `{row['name']}` | `{row['env']}` | `{row['default']}` | {row['help']} |")
    return "\n".join(lines) + "\n"
