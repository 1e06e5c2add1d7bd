"""$ per million requests for on demand at the AWS edge (docs/deploy-ondemand.md).

    uv run python bench/ondemand_cost.py --render-ms 350 [--memory-mb 1769] [--arch arm64]

A request is one viewer GET through CloudFront. Every one runs the CloudFront Function.
A CloudFront cache hit ends there; a miss asks the output bucket (one S3 GET, billed
whether S3 answers 200 or 403), and when the bucket lacks the key too (``--bucket-misses``,
the share of CloudFront misses that are first requests) the function URL renders it: one
Lambda request, the GB-seconds of the render, one S3 GET of the source and one PUT of the
result. The render time is an argument: take it from ``bench/run ondemand`` (the origin's
first-request latency for the rendition you serve most) or use Dynamic Image
Transformation's 350 ms to compare like with like. Data transfer out is left out: it is
the same bytes whatever renders them.
"""

from __future__ import annotations

import argparse

# us-east-1 list prices, read on 2025-06-01 from the public pricing pages:
#   https://aws.amazon.com/lambda/pricing/ (x86 $0.0000166667, Arm $0.0000133334 per
#     GB-s; $0.20 per million requests; function URLs add nothing of their own)
#   https://aws.amazon.com/cloudfront/pricing/ ($0.0100 per 10,000 HTTPS requests in the
#     US; CloudFront Functions $0.10 per million invocations; Origin Shield $0.0075 per
#     10,000 requests that reach it)
#   https://aws.amazon.com/s3/pricing/ (S3 Standard: GET $0.0004, PUT $0.005 per 1,000)
LAMBDA_GB_S = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
LAMBDA_REQUEST = 0.20 / 1e6
CLOUDFRONT_REQUEST = 0.0100 / 1e4
CLOUDFRONT_FUNCTION = 0.10 / 1e6
ORIGIN_SHIELD_REQUEST = 0.0075 / 1e4
S3_GET = 0.0004 / 1e3
S3_PUT = 0.005 / 1e3
#: Dynamic Image Transformation's published assumptions, for the line beside ours.
DIT_HIT_RATE = 0.90
DIT_RENDER_MS = 350
DIT_LAMBDA_PER_MILLION_RENDERS = 11.0
HIT_RATES = (0.50, 0.90, 0.99)
MILLION = 1_000_000


def per_million(
    hit_rate: float,
    render_ms: float,
    memory_mb: int,
    arch: str,
    bucket_misses: float = 1.0,
    origin_shield: bool = False,
) -> dict[str, float]:
    """Dollars per million viewer requests, by part."""
    misses = MILLION * (1 - hit_rate)
    renders = misses * bucket_misses
    gb_s = renders * render_ms / 1000 * memory_mb / 1024
    return {
        "CloudFront requests": MILLION * CLOUDFRONT_REQUEST,
        "CloudFront Function": MILLION * CLOUDFRONT_FUNCTION,
        "Origin Shield": misses * ORIGIN_SHIELD_REQUEST if origin_shield else 0.0,
        "S3 GET (bucket first)": misses * S3_GET,
        "Lambda requests (function URL)": renders * LAMBDA_REQUEST,
        "Lambda GB-s": gb_s * LAMBDA_GB_S[arch],
        "S3 GET source + PUT result": renders * (S3_GET + S3_PUT),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--render-ms", type=float, required=True, help="one render's time")
    parser.add_argument("--memory-mb", type=int, default=1769, help="OnDemandMemorySize")
    parser.add_argument("--arch", choices=sorted(LAMBDA_GB_S), default="x86_64")
    parser.add_argument(
        "--bucket-misses",
        type=float,
        default=1.0,
        help="share of CloudFront misses the bucket lacks too (1: each renders)",
    )
    parser.add_argument("--origin-shield", action="store_true")
    args = parser.parse_args(argv)
    print(
        f"$ per million requests, us-east-1, {args.memory_mb} MB {args.arch}, "
        f"{args.render_ms:g} ms per render, {args.bucket_misses:.0%} of CloudFront misses "
        "rendered"
    )
    rows = {h: per_million(h, args.render_ms, args.memory_mb, args.arch, args.bucket_misses,
                           args.origin_shield) for h in HIT_RATES}  # fmt: skip
    print(f"{'part':32}" + "".join(f"{f'{h:.0%} hits':>12}" for h in HIT_RATES))
    for part in rows[HIT_RATES[0]]:
        print(f"{part:32}" + "".join(f"{rows[h][part]:12.2f}" for h in HIT_RATES))
    print(f"{'total':32}" + "".join(f"{sum(rows[h].values()):12.2f}" for h in HIT_RATES))
    dit_renders = MILLION * (1 - DIT_HIT_RATE)
    ours = per_million(DIT_HIT_RATE, DIT_RENDER_MS, args.memory_mb, args.arch)
    print(
        f"Dynamic Image Transformation's assumptions ({DIT_HIT_RATE:.0%} hits, "
        f"{DIT_RENDER_MS} ms per render, ~${DIT_LAMBDA_PER_MILLION_RENDERS:.0f} of Lambda per "
        f"million renders): ${DIT_LAMBDA_PER_MILLION_RENDERS * dit_renders / MILLION:.2f} of "
        f"Lambda per million requests; thumbsmith at {DIT_RENDER_MS} ms and "
        f"{args.memory_mb} MB: "
        f"${ours['Lambda GB-s'] + ours['Lambda requests (function URL)']:.2f}"
    )


if __name__ == "__main__":
    main()
