// A warm, persistent sharp worker for the W3 benchmark: the same line protocol as
// pyworker.py (JSON request a line on stdin, JSON reply a line on stdout), so node's
// start-up is never timed.
//
// W3 the sharp way: one input, clone() per size, all three toBuffer() promises awaited
// together. Threads come from the environment: SHARP_CONCURRENCY -> sharp.concurrency(),
// UV_THREADPOOL_SIZE (read by libuv at start) for how many clones run at once.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { runReply, serve } from "./protocol.mjs";

const SIZES = [["large", 1280], ["medium", 640], ["thumb", 160]];
const QUALITY = 85;

const threads = Number.parseInt(process.env.SHARP_CONCURRENCY ?? "1", 10);
sharp.concurrency(threads);
sharp.cache(false); // every image is new; the cache would only hold memory

async function w3(path) {
  const input = sharp(readFileSync(path), { pages: 1 })
    .rotate() // auto-orient from EXIF
    .flatten({ background: "#ffffff" }); // alpha on white
  // sharp converts to sRGB (using an embedded profile) and strips metadata by default.
  return Promise.all(
    SIZES.map(([name, box]) =>
      input
        .clone()
        .resize(box, box, { fit: "inside", withoutEnlargement: true })
        .jpeg({ quality: QUALITY, progressive: true, optimiseCoding: true })
        .toBuffer({ resolveWithObject: true })
        .then(({ data, info }) => [name, data, info.width, info.height]),
    ),
  );
}

async function handle(req) {
  if (req.cmd === "run") {
    const t0 = process.hrtime.bigint();
    const outs = await w3(req.path);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (req.save) {
      for (const [name, data] of outs) writeFileSync(join(req.save, `${name}.jpg`), data);
    }
    return runReply(ms, outs);
  }
  if (req.cmd === "loop") {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < req.n; i++) await w3(req.path);
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  }
  return { error: `unknown command ${req.cmd}` };
}

await serve({ ready: "sharp", pid: process.pid, versions: sharp.versions }, handle);
