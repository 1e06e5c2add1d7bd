// A warm, persistent sharp worker for the W4 benchmark (same JSON-lines protocol as
// sharp_worker.mjs): each photo -> large/medium/thumb (fit inside 1280/640/160, never
// enlarged) in AVIF, WebP and JPEG, plus a 400x400 attention-cropped card in WebP.
// One sharp pipeline per output, as sharp is used (sharp has no "many outputs from one
// decode" beyond clone(), which still re-runs the pipeline per output).
// A request's "quality" ({rendition: {avif: N, webp: N}}) gives sharp the quality numbers
// thumbsmith uses (bench/w4.py: the matched comparison); sharp keeps its own effort (4),
// 4:4:4 chroma and other defaults. Without it: sharp's documented defaults (AVIF quality
// 50, WebP quality 80). JPEG as in W3 (q85, progressive, optimised Huffman).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { runReply, serve } from "./protocol.mjs";

const SIZES = [["large", 1280], ["medium", 640], ["thumb", 160]];

sharp.concurrency(Number.parseInt(process.env.SHARP_CONCURRENCY ?? "1", 10));
sharp.cache(false);

// sharp's own default where no quality is given: avif({}) and webp({}).
const knobs = (quality, name, fmt) => (quality?.[name]?.[fmt] ? { quality: quality[name][fmt] } : {});

function pipelines(buf, quality) {
  const jobs = [];
  for (const [name, box] of SIZES) {
    const base = () =>
      sharp(buf, { pages: 1 }).rotate().resize(box, box, { fit: "inside", withoutEnlargement: true });
    jobs.push([`${name}.avif`, () => base().avif(knobs(quality, name, "avif"))]);
    jobs.push([`${name}.webp`, () => base().webp(knobs(quality, name, "webp"))]);
    jobs.push([
      `${name}.jpg`,
      () =>
        base()
          .flatten({ background: "#ffffff" })
          .jpeg({ quality: 85, progressive: true, optimiseCoding: true }),
    ]);
  }
  jobs.push([
    "card.webp",
    () =>
      sharp(buf, { pages: 1 })
        .rotate()
        .resize(400, 400, { fit: "cover", position: "attention" })
        .webp(knobs(quality, "card", "webp")),
  ]);
  return jobs;
}

async function w4(path, quality) {
  const buf = readFileSync(path);
  return Promise.all(
    pipelines(buf, quality).map(async ([name, make]) => {
      const { data, info } = await make().toBuffer({ resolveWithObject: true });
      return [name, data, info.width, info.height];
    }),
  );
}

async function handle(req) {
  if (req.cmd === "run") {
    const t0 = process.hrtime.bigint();
    const outs = await w4(req.path, req.quality);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (req.save) for (const [name, data] of outs) writeFileSync(join(req.save, name), data);
    return runReply(ms, outs);
  }
  return { error: `unknown command ${req.cmd}` };
}

await serve({ ready: "sharp", pid: process.pid, versions: sharp.versions }, handle);
