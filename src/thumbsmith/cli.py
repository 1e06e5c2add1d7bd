"""``thumbsmith``: convert, backfill, sync, watch, serve, worker, receive, origin, sign,
package, config.

Argument parsing and printing only: each command calls a runner, which builds
``ObjectEvent``s for the one ``process()``, and prints what it returns: one clear line
per bad file, then a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from thumbsmith import __version__
from thumbsmith.errors import ConfigError, ThumbsmithError
from thumbsmith.settings import Settings, describe, load, render_markdown

if TYPE_CHECKING:
    from thumbsmith.core.options import RenderOptions
    from thumbsmith.core.spec import RenditionSpec
    from thumbsmith.runners.target import Target
    from thumbsmith.service.failures import Remember
    from thumbsmith.service.outcome import EventResult


def _cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    if args.markdown:
        sys.stdout.write(render_markdown())
        return 0
    rows = describe(settings)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['name']} = {row['value']}    [{row['source']}; {row['env']}]")
        print(f"    {row['help']}")
    _print_renditions(settings)
    print("effective endpoints (what boto3 will call):")
    for service, value, where in effective_endpoints(settings):
        print(f"    {service} = {value or '(none)'}    [{where}]")
    print(f"origin signing: {origin_signing(settings)}")
    return 0


def origin_signing(settings: Settings) -> str:
    """``on (2 keys)`` or ``off``: whether ad-hoc URLs work, never a key."""
    count = len(settings.origin_keys)
    return f"on ({count} key{'s' if count > 1 else ''})" if count else "off"


def effective_endpoints(settings: Settings) -> list[tuple[str, str, str]]:
    from thumbsmith.endpoints import effective
    from thumbsmith.settings import env_name

    s3 = effective("s3", settings.s3_endpoint_url, os.environ, env_name("s3_endpoint_url"))
    sqs = effective("sqs", settings.sqs_endpoint_url, os.environ, env_name("sqs_endpoint_url"))
    return [("s3", *s3), ("sqs", *sqs)]


def _print_renditions(settings: Settings) -> None:
    from thumbsmith.core.quality import describe as quality_setting
    from thumbsmith.runners.bootstrap import render_options

    options = render_options(settings)
    print("\nrenditions (parsed):")
    for spec in settings.specs:
        extras = [spec.position] if spec.fit == "cover" else []
        extras += [f"{fmt}@{q}" for fmt, q in spec.quality]
        extras += [flag for flag in ("upscale", "animated") if getattr(spec, flag)]
        box = f"{spec.width}x{spec.height}"
        if spec.width is None or spec.height is None:
            box = f"{spec.box} ({'width' if spec.width else 'height'} only)"
        print(
            f"  {spec.name}: {box} {spec.fit}, "
            f"{'+'.join(spec.formats)}" + "".join(f", {e}" for e in extras)
        )
        print(f"    quality: {_qualities(options, spec)}")
    print("quality per format (a rendition's own fmt@N wins):")
    for fmt in ("jpeg", "webp", "avif"):
        setting = options.setting_for(fmt)
        if setting is not None:
            print(f"  {quality_setting(fmt, setting)}")
    print("rules (longest prefix wins; no match: every rendition):")
    for rule in settings.rule_list:
        print(f"  {rule.prefix!r}: {', '.join(rule.renditions)}")
    if not settings.rule_list:
        print("  (none)")
    print(f"prefixes processed: {', '.join(repr(p) for p in settings.prefixes)}")


def _qualities(options: RenderOptions, spec: RenditionSpec) -> str:
    """What each format of ``spec`` is encoded at, and why."""
    from thumbsmith.core.quality import MATCH, size_class

    parts = []
    for fmt in spec.formats:
        quality = options.quality_for(spec, fmt)
        if quality is None:
            parts.append(f"{fmt} lossless")
            continue
        why = "setting"
        if spec.quality_for(fmt) is not None:
            why = f"{fmt}@{quality}"
        elif options.setting_for(fmt) == MATCH:
            why = f"match, {size_class(spec.width, spec.height)}"
        parts.append(f"{fmt} {quality} ({why})")
    return ", ".join(parts)


def _cmd_convert(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.runners.convert import Converted, convert

    out_dir = Path(args.output)

    def report(result: Converted) -> None:
        if result.error:
            print(f"error: {result.error}", file=sys.stderr)
            return
        assert result.outcome is not None
        if not result.outcome.renditions:
            print(f"{result.path}: {result.outcome.status} ({result.outcome.reason})")
        for w in result.outcome.renditions:
            print(f"{out_dir / w.key}  {w.width}x{w.height}  {w.bytes} bytes")

    summary = convert(
        [Path(f) for f in args.files], args.output, settings, on_result=report, focus=args.focus
    )
    if summary.failed:
        print(f"{summary.failed} of {len(args.files)} file(s) failed", file=sys.stderr)
    return 1 if summary.failed else 0


def _target(args: argparse.Namespace, settings: Settings) -> Target:
    """The command's ROOT/BUCKET or s3://BUCKET/PREFIX, checked against the settings."""
    from thumbsmith.runners.target import parse_target

    target = parse_target(args.target, args.prefix)
    target.check(settings)
    return target


def _queue_url(option: str, value: str) -> str:
    from thumbsmith.endpoints import check_queue_url

    try:
        check_queue_url(value)
    except ValueError as exc:
        raise ConfigError(f"{option} {value!r}: {exc}") from None
    return value


def _cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    target = _target(args, settings)
    if args.enqueue:
        _queue_url("--enqueue", args.enqueue)
        from thumbsmith.runners.bootstrap import process_config, sqs_queue
        from thumbsmith.runners.enqueue import enqueue

        store = target.open(settings)
        keys = process_config(settings).keys
        queue = sqs_queue(settings, args.enqueue)
        count = sum(
            enqueue(store, target.bucket, prefix, queue, keys)
            for prefix in target.prefixes_or(settings)
        )
        print(f"enqueued {count} object(s) from {target.display} to {args.enqueue}")
        return 0

    from tqdm import tqdm

    from thumbsmith.runners.backfill import backfill
    from thumbsmith.runners.bootstrap import stopping_on_signals

    bar = tqdm(total=0, unit="img", disable=args.no_progress, file=sys.stderr)

    def started(total: int) -> None:
        bar.write(f"backfill {_where(target, settings)}: {total} object(s); Ctrl-C stops")
        sys.stdout.flush()  # a pipe (cron's mail, a supervisor) sees it now, not at exit
        bar.reset(total=total)

    def report(result: EventResult) -> None:
        if result.failed:
            bar.write(f"error: {result.message}", file=sys.stderr)
        bar.update(1)

    # Handlers in before the start line: from then on a signal stops the run cleanly.
    with stopping_on_signals() as stop:
        try:
            summary = backfill(
                target,
                settings,
                workers=args.workers,
                remember=_remember(args),
                stop=stop,
                on_start=started,
                on_result=report,
            )
        finally:
            bar.close()
    print(summary.line())
    _print_failures(
        summary.failures, "object(s) failed", recorded=settings.key_mapper.keeps_failure_records
    )
    if summary.stopped_by:
        return stop.exit_status
    return 1 if summary.failed else 0


def _where(target: Target, settings: Settings) -> str:
    return f"{target.display} (prefix {target.prefix_or(settings)!r})"


def _remember(args: argparse.Namespace) -> Remember:
    from thumbsmith.service.failures import Remember

    return Remember.RETRY if args.retry_failed else Remember.SKIP


def _print_failures(failures: list[str], what: str, *, recorded: bool) -> None:
    """The failures, one a line; ``recorded``: the run keeps failure records."""
    if not failures:
        return
    print(f"{len(failures)} {what}:", file=sys.stderr)
    for line in failures:
        print(f"  {line}", file=sys.stderr)
    if not recorded:
        return
    print(
        "  (images that cannot be read are recorded in the output bucket, as "
        "failed/KEY.json by default; the next run skips them until they or the settings "
        "change; --retry-failed tries them again)",
        file=sys.stderr,
    )


def _result_printer(args: argparse.Namespace) -> Callable[[EventResult], None]:
    """How watch and serve print each event: what changed, and every failure. An event
    that found everything up to date (each file already there at start, a duplicate
    event) says nothing new, so its line shows with -v only."""
    from thumbsmith.service.outcome import Status

    def show(result: EventResult) -> None:
        if result.status is Status.SKIPPED and not args.verbose:
            return
        print(result.line, file=sys.stderr if result.failed else sys.stdout, flush=True)

    return show


def _cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.runners.watch import watch

    target = _target(args, settings)
    if target.scheme != "local":
        raise ConfigError("watch works on local bucket folders; for S3 use events or worker")

    def ready(existing: int) -> None:
        # Said once the signal handlers are in: a Ctrl-C from then on is a clean stop.
        where = f"watching {target.display} (prefix {target.prefix_or(settings)!r})"
        if existing:
            where += f", catching up on the {existing} file(s) already there"
        print(f"{where}; Ctrl-C stops", flush=True)  # a pipe (tee, a supervisor) sees it now

    watch(
        target,
        settings,
        workers=args.workers,
        on_result=_result_printer(args),
        existing=True,
        on_ready=ready,
    )
    return 0


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.runners.serve import serve

    target = _target(args, settings)
    if target.scheme != "local":
        raise ConfigError("serve works on local bucket folders (ROOT/BUCKET)")

    def ready(url: str) -> None:
        print(f"serving {target.display} (prefix {target.prefix_or(settings)!r}) at {url}")
        print("open it in a browser; Ctrl-C stops", flush=True)

    serve(
        target,
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        on_ready=ready,
        on_result=_result_printer(args),
    )
    return 0


def _cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.runners.worker import run_worker

    run_worker(
        _queue_url("--queue-url", args.queue_url),
        settings,
        concurrency=args.concurrency,
        max_messages=args.max_messages,
        idle_exit=args.idle_exit,
    )
    return 0


def _cmd_receive(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.runners.receive import run_receive

    run_receive(args.listen, settings, workers=args.workers)
    return 0


def _cmd_origin(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.runners.origin import serve_origin

    target = _target(args, settings)

    def ready(url: str) -> None:
        signing = origin_signing(settings)
        print(f"origin for {target.display} at {url} (signing {signing}); Ctrl-C stops", flush=True)

    serve_origin(
        target,
        settings,
        args.listen or settings.origin_listen,
        workers=args.workers,
        on_ready=ready,
    )
    return 0


def _cmd_sign(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.service.ondemand.signing import sign_url

    keys = settings.origin_keys
    if not keys:
        raise ConfigError(
            "no signing key: set THUMBSMITH_ORIGIN_SIGNING_KEYS (comma-separated, the newest first)"
        )
    if args.expires is not None and args.expires <= 0:
        raise ConfigError(f"--expires {args.expires}: give a number of seconds above 0")
    try:
        print(sign_url(args.url, keys[0], expires=args.expires))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return 0


def _cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.runners.bootstrap import stopping_on_signals
    from thumbsmith.runners.sync import sync

    target = _target(args, settings)

    def started(sources: int) -> None:
        what = "dry run, changing nothing" if args.dry_run else "Ctrl-C stops"
        print(f"sync {_where(target, settings)}: {sources} source(s); {what}", flush=True)

    def report(result: EventResult) -> None:
        if result.failed:
            print(f"error: {result.message}", file=sys.stderr, flush=True)

    # Handlers in before the start line: from then on a signal stops the run cleanly.
    with stopping_on_signals() as stop:
        summary = sync(
            target,
            settings,
            workers=args.workers,
            dry_run=args.dry_run,
            remember=_remember(args),
            stop=stop,
            on_start=started,
            on_line=lambda line: print(line, flush=True),
            on_result=report,
        )
    print(f"sync {target.display}: {summary.line()}")
    recorded = settings.key_mapper.keeps_failure_records and not args.dry_run
    _print_failures(summary.failures, "failure(s)", recorded=recorded)
    if summary.stopped_by:
        return stop.exit_status
    return 1 if summary.failed else 0


def _cmd_package(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.tools.package import PackageError, build_zip

    try:
        result = build_zip(
            arch=args.arch,
            python=args.python,
            output_dir=args.output,
            include_boto3=args.include_boto3,
        )
    except PackageError as exc:
        print(f"thumbsmith package: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


ENDPOINTS_HELP = """\
S3-compatible stores and credentials:
  THUMBSMITH_S3_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL
                  the S3 endpoint, e.g. http://127.0.0.1:9000 (MinIO, SeaweedFS, Ceph, R2)
  THUMBSMITH_SQS_ENDPOINT_URL / AWS_ENDPOINT_URL_SQS
                  the SQS endpoint (worker, backfill --enqueue)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), AWS_DEFAULT_REGION
                  credentials, read by boto3 as usual
  'thumbsmith config' shows the endpoints in effect and where each came from.
"""


KNOWN_BAD_HELP = """\
Images that cannot be read (corrupt, unsupported, over a limit) are recorded in the
output bucket (failed/KEY.json with the default key template); later runs skip them
without downloading them ("known bad") until they or the settings change, and exit 0
when nothing new failed. --retry-failed tries them again.
"""

STOP_HELP = """\
Ctrl-C or SIGTERM stops it within 2 s: renders in flight get a moment, then stop; what
is written is whole, and the next run does the rest. Exit status 130 (SIGINT) or 143
(SIGTERM), as a shell reports a command killed by that signal.
"""

DESCRIPTIONS = {
    "backfill": "Process every object under the prefix, in parallel. Resumable: what is "
    "already\nup to date is skipped.\n\n" + KNOWN_BAD_HELP + "\n" + STOP_HELP,
    "watch": """\
Process the files already in a local bucket folder (catching up on what arrived while
it was not running; up-to-date ones are skipped, quietly unless -v), then each file as
it is written; deleting a source deletes its renditions. Renditions of files deleted
while it was not running are removed by 'thumbsmith sync'. Ctrl-C or SIGTERM stops it
within 2 s (exit 0).
""",
    "sync": """\
One pass: render what is missing or stale (as backfill), then delete the renditions,
manifests and failure records whose source is gone. Only objects whose metadata says
thumbsmith wrote them are ever deleted. Resumable; safe from cron.

"""
    + KNOWN_BAD_HELP
    + "\n"
    + STOP_HELP,
}

TARGET_HELP = (
    "a local bucket folder ROOT/BUCKET (renditions go to ROOT/BUCKET-output) or s3://BUCKET/PREFIX"
)


def _global_options(parser: argparse.ArgumentParser, *, after: bool) -> None:
    """--config, --renditions and -v, before the subcommand or ``after`` it. After it they
    default to SUPPRESS, so one not repeated there keeps the value given before it."""
    defaults: dict[str, Any] = {"default": argparse.SUPPRESS} if after else {}
    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument(
        "--config",
        metavar="FILE",
        help="TOML settings file (default: ./thumbsmith.toml)",
        **defaults,
    )
    group.add_argument(
        "--renditions",
        help="override THUMBSMITH_RENDITIONS, e.g. 'large=1280,thumb=160x160'",
        **defaults,
    )
    group.add_argument("-v", "--verbose", action="store_true", help="debug logging", **defaults)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thumbsmith",
        description="Turn images in a bucket (S3 or a local folder) into JPEG, WebP, AVIF or PNG "
        "renditions.",
        epilog=ENDPOINTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"thumbsmith {__version__}")
    _global_options(parser, after=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, after=True)
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        help="one of these; 'thumbsmith COMMAND --help' lists its options",
    )

    def command(name: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kw)

    _local_commands(command)
    _bucket_commands(command)
    _service_commands(command)
    return parser


Command = Callable[..., argparse.ArgumentParser]


def _local_commands(command: Command) -> None:
    p = command("config", help="print every setting, its value and where it came from")
    p.add_argument("--markdown", action="store_true", help="the settings reference as Markdown")
    p.add_argument("--json", action="store_true", help="machine-readable")
    p.set_defaults(func=_cmd_config)

    p = command("convert", help="make renditions of single files")
    p.add_argument("files", nargs="+", metavar="FILE", help="images (the format is sniffed)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        help="bucket folder the renditions go to (DIR/large/FILE.jpg, ...), created if "
        "missing; the records of what each came from go beside it, in .thumbsmith-meta/",
    )
    p.add_argument(
        "--focus",
        metavar="X,Y",
        help="focal point for cover crops, fractions of the upright image (e.g. 0.31,0.42)",
    )
    p.set_defaults(func=_cmd_convert)

    p = command("package", help="build the AWS Lambda deployment zip")
    p.add_argument(
        "--arch",
        choices=["x86_64", "arm64"],
        default="x86_64",
        help="Lambda architecture (default x86_64)",
    )
    p.add_argument(
        "--python",
        choices=["3.12", "3.13"],
        default="3.12",
        help="Lambda Python runtime (default 3.12)",
    )
    p.add_argument(
        "-o", "--output", default="dist", metavar="DIR", help="folder for the zip (default dist)"
    )
    p.add_argument("--include-boto3", action="store_true", help="bundle boto3 too")
    p.set_defaults(func=_cmd_package)


LOCAL_TARGET_HELP = "a local bucket folder (renditions go to ROOT/BUCKET-output)"


def _bucket_commands(command: Command) -> None:
    p = command(
        "backfill",
        help="process every existing object under a prefix (resumable)",
        description=DESCRIPTIONS["backfill"],
        epilog=ENDPOINTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", metavar="ROOT/BUCKET|s3://BUCKET/PREFIX", help=TARGET_HELP)
    p.add_argument("--prefix", help="source key prefix (default: THUMBSMITH_PREFIX)")
    p.add_argument("--workers", type=int, help="processes (default: one per core)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--enqueue", metavar="QUEUE_URL", help="send S3 events to SQS instead")
    _retry_failed_option(p)
    p.set_defaults(func=_cmd_backfill)

    p = command(
        "watch",
        help="process the files in a local bucket folder, then each one as it appears",
        description=DESCRIPTIONS["watch"],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", metavar="ROOT/BUCKET", help=LOCAL_TARGET_HELP)
    p.add_argument("--prefix", help="source key prefix (default: THUMBSMITH_PREFIX)")
    p.add_argument("--workers", type=int, help="render processes (default: one per core)")
    p.set_defaults(func=_cmd_watch)

    p = command("serve", help="a local web page over a bucket folder, with the watch")
    p.add_argument("target", metavar="ROOT/BUCKET", help=LOCAL_TARGET_HELP)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    p.add_argument(
        "--port", type=int, default=8080, help="port to bind (default 8080; 0 picks a free one)"
    )
    p.add_argument("--prefix", help="source key prefix (default: THUMBSMITH_PREFIX)")
    p.add_argument("--workers", type=int, help="render processes (default: one per core)")
    p.set_defaults(func=_cmd_serve)

    p = command(
        "sync",
        help="render what is missing or stale and delete renditions whose source is gone",
        description=DESCRIPTIONS["sync"],
        epilog=ENDPOINTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", metavar="ROOT/BUCKET|s3://BUCKET/PREFIX", help=TARGET_HELP)
    p.add_argument("--prefix", help="source key prefix (default: THUMBSMITH_PREFIX)")
    p.add_argument("--workers", type=int, help="processes (default: one per core)")
    p.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    _retry_failed_option(p)
    p.set_defaults(func=_cmd_sync)


def _retry_failed_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="try again the images recorded as failed for good by an earlier run (by "
        "default they are skipped until they or the settings change)",
    )


def _service_commands(command: Command) -> None:
    p = command(
        "receive",
        help="HTTP receiver for bucket notifications (MinIO webhook, SeaweedFS filer)",
        description="Accept bucket notifications at POST /events (MinIO's webhook target, "
        "SeaweedFS's filer webhook; the shape is detected from the body) and process each "
        "before answering: 2xx when done or failed for good, 503 when a retry can help. "
        "Requires THUMBSMITH_RECEIVE_TOKEN as 'Authorization: Bearer TOKEN'. GET /health.",
        epilog=ENDPOINTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--listen",
        default="127.0.0.1:8780",
        metavar="HOST:PORT",
        help="address to listen on (default 127.0.0.1:8780; anything else is reachable "
        "from other machines)",
    )
    p.add_argument("--workers", type=int, help="render processes (default: one per core)")
    p.set_defaults(func=_cmd_receive)

    p = command(
        "origin",
        help="serve renditions over HTTP, rendering on first request what is not made yet",
        description="Serve GET /{output key} (the object in the output bucket, else the "
        "rendition the key names, rendered now and written there) and GET /img/{source "
        "key}?p=NAME[&f=FORMAT|auto] or the signed ?w=&h=&fit=&pos=&q=&f=&exp=&s= "
        "(THUMBSMITH_ORIGIN_SIGNING_KEYS). See docs/origin.md. Ctrl-C or SIGTERM stops it.",
        epilog=ENDPOINTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", metavar="ROOT/BUCKET|s3://BUCKET/PREFIX", help=TARGET_HELP)
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="address to listen on (default THUMBSMITH_ORIGIN_LISTEN, 127.0.0.1:8090; port 0 "
        "picks a free one; anything but loopback is reachable from other machines)",
    )
    p.add_argument("--prefix", help="source key prefix (default: THUMBSMITH_PREFIX)")
    p.add_argument("--workers", type=int, help="render processes (default: one per core)")
    p.set_defaults(func=_cmd_origin)

    p = command(
        "sign",
        help="print an on-demand /img/ URL signed with THUMBSMITH_ORIGIN_SIGNING_KEYS",
    )
    p.add_argument(
        "url", metavar="URL", help="e.g. 'https://cdn.example.com/img/images/cat.jpg?w=640&f=webp'"
    )
    p.add_argument(
        "--expires", type=int, metavar="SECONDS", help="refused this many seconds from now (exp=)"
    )
    p.set_defaults(func=_cmd_sign)

    p = command(
        "worker",
        help="consume S3 events from an SQS(-compatible) queue",
        epilog=ENDPOINTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--queue-url",
        required=True,
        metavar="URL",
        help="the queue's URL, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/NAME",
    )
    p.add_argument("--concurrency", type=int, help="jobs at once (default: one per core)")
    p.add_argument("--max-messages", type=int, help="stop after this many (testing)")
    p.add_argument("--idle-exit", type=float, help="exit after the queue is empty this long")
    p.set_defaults(func=_cmd_worker)


#: What a shell reports for a writer killed by SIGPIPE (128 + 13), as for ``yes | head``.
EXIT_BROKEN_PIPE = 141


def run() -> NoReturn:
    """The ``thumbsmith`` command and ``python -m thumbsmith``: :func:`main`, then exit.

    Once main() has returned the process is ending. A late copy of the Ctrl-C that
    stopped it (``uv run`` forwards it again some 200 ms later, astral-sh/uv#13925) must
    not kill it by signal (status -2) or interrupt the interpreter's exit, which puts
    back the default action for every handler Python installed: so both are ignored.
    """
    status = main()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    sys.exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader is gone (`thumbsmith config | head -2`): stop quietly, as coreutils
        # and git do; it chose to read no more. Python would flush stdout again at exit
        # and print "Exception ignored ... BrokenPipeError", so stdout goes to devnull.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load(config_file=args.config, renditions=args.renditions)
        if args.command != "config":
            from thumbsmith.runners.bootstrap import start

            # -v is for thumbsmith's own story; botocore stays quiet (signed headers).
            start(settings, logs="text", verbose=args.verbose)
        return int(args.func(args, settings))
    except ConfigError as exc:
        print(f"thumbsmith: configuration error: {exc}", file=sys.stderr)
        return 2
    except ThumbsmithError as exc:
        print(f"thumbsmith: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C is how watch and serve stop, even while they are starting up.
        return 0 if args.command in ("watch", "serve", "origin") else 130


if __name__ == "__main__":
    run()
