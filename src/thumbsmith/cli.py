"""``thumbsmith``: convert, backfill, watch, worker, package, config.

Every command builds ``ObjectEvent``s (or calls the core directly, for ``convert``) and
prints one clear line per bad file, then goes on with the next one.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from thumbsmith import __version__
from thumbsmith.errors import ConfigError, ThumbsmithError
from thumbsmith.settings import Settings, describe, load, render_markdown


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
    return 0


def _cmd_convert(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.imaging import configure
    from thumbsmith.imaging.model import RenderOptions
    from thumbsmith.keys import KeyMapper
    from thumbsmith.pipeline import render
    from thumbsmith.storage.local import _atomic_write

    configure(settings)
    options = RenderOptions.from_settings(settings)
    keys = KeyMapper.from_settings(settings)
    out_dir = Path(args.output)
    failed = 0
    for file in args.files:
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            print(f"error: {path}: cannot read: {exc.strerror}", file=sys.stderr)
            failed += 1
            continue
        try:
            renditions = render(data, settings.specs, options, name=str(path))
        except ThumbsmithError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        for r in renditions:
            dest = out_dir / keys.output_key(path.name, r.name, r.extension)
            _atomic_write(dest, r.data)
            print(f"{dest}  {r.width}x{r.height}  {len(r.data)} bytes")
    if failed:
        print(f"{failed} of {len(args.files)} file(s) failed", file=sys.stderr)
    return 1 if failed else 0


def _cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.storage.open import parse_target

    target = parse_target(args.target, args.prefix)
    if args.enqueue:
        from thumbsmith.enqueue import enqueue

        store = target.open(settings)
        prefix = settings.prefix if target.prefix is None else target.prefix
        count = enqueue(store, target.bucket, prefix, args.enqueue, settings)
        print(f"enqueued {count} object(s) from {target.display} to {args.enqueue}")
        return 0

    from thumbsmith.backfill import backfill

    summary = backfill(target, settings, workers=args.workers, progress=not args.no_progress)
    print(summary.line())
    if summary.failed:
        print(f"{summary.failed} object(s) failed:", file=sys.stderr)
        for line in summary.failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def _cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith.storage.open import parse_target
    from thumbsmith.watch import watch

    target = parse_target(args.target, args.prefix)
    if target.scheme != "local":
        raise ConfigError("watch works on local bucket folders; for S3 use events or worker")
    print(f"watching {target.display} (prefix {args.prefix or settings.prefix!r}); Ctrl-C stops")
    watch(target, settings, workers=args.workers or settings.workers or 1)
    return 0


def _cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith import worker

    return worker.main(args, settings)


def _cmd_package(args: argparse.Namespace, settings: Settings) -> int:
    from thumbsmith import package

    return package.main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thumbsmith",
        description="Turn images in a bucket (S3 or a local folder) into JPEG thumbnails.",
    )
    parser.add_argument("--version", action="version", version=f"thumbsmith {__version__}")
    parser.add_argument("--config", help="TOML settings file (default: ./thumbsmith.toml)")
    parser.add_argument(
        "--renditions", help="override THUMBSMITH_RENDITIONS, e.g. 'large=1280,thumb=160x160'"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("config", help="print every setting, its value and where it came from")
    p.add_argument("--markdown", action="store_true", help="the settings reference as Markdown")
    p.add_argument("--json", action="store_true", help="machine-readable")
    p.set_defaults(func=_cmd_config)

    p = sub.add_parser("convert", help="make renditions of single files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.set_defaults(func=_cmd_convert)

    for name, helptext in (
        ("backfill", "process every existing object under a prefix (resumable)"),
        ("watch", "process files as they appear in a local bucket folder"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("target", metavar="ROOT/BUCKET|s3://BUCKET/PREFIX")
        p.add_argument("--prefix", help="source key prefix (default: THUMBSMITH_PREFIX)")
        p.add_argument("--workers", type=int, help="processes (default: one per core)")
        p.set_defaults(func=_cmd_backfill if name == "backfill" else _cmd_watch)
        if name == "backfill":
            p.add_argument("--no-progress", action="store_true", help="no progress bar")
            p.add_argument("--enqueue", metavar="QUEUE_URL", help="send S3 events to SQS instead")

    p = sub.add_parser("worker", help="consume S3 events from an SQS(-compatible) queue")
    p.add_argument("--queue-url", required=True)
    p.add_argument("--concurrency", type=int, help="jobs at once (default: one per core)")
    p.add_argument("--max-messages", type=int, help="stop after this many (testing)")
    p.add_argument("--idle-exit", type=float, help="exit after the queue is empty this long")
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser("package", help="build the AWS Lambda deployment zip")
    p.add_argument("--arch", choices=["x86_64", "arm64"], default="x86_64")
    p.add_argument("--python", choices=["3.12", "3.13"], default="3.12")
    p.add_argument("-o", "--output", default="dist")
    p.add_argument("--include-boto3", action="store_true", help="bundle boto3 too")
    p.set_defaults(func=_cmd_package)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # botocore's DEBUG output carries signed request headers (access key id, session
    # token, signature): -v is for thumbsmith's own story, never for credentials.
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load(config_file=args.config, renditions=args.renditions)
        logging.getLogger("thumbsmith").setLevel(
            logging.DEBUG if args.verbose else settings.log_level.upper()
        )
        return int(args.func(args, settings))
    except ConfigError as exc:
        print(f"thumbsmith: configuration error: {exc}", file=sys.stderr)
        return 2
    except ThumbsmithError as exc:
        print(f"thumbsmith: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
