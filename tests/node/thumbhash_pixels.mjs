// The author's reference decoder (npm thumbhash), for tests/imaging/test_tiny_placeholder.py.
//   node thumbhash_pixels.mjs <base64>  -> {w, h, meanRGBA: [r, g, b, a]} of the decoded image (0..255)
import { thumbHashToRGBA } from 'thumbhash';

const hash = new Uint8Array(Buffer.from(process.argv[2], 'base64'));
const { w, h, rgba } = thumbHashToRGBA(hash);
const sums = [0, 0, 0, 0];
for (let i = 0; i < rgba.length; i += 4) for (let c = 0; c < 4; c++) sums[c] += rgba[i + c];
console.log(JSON.stringify({ w, h, meanRGBA: sums.map((s) => s / (w * h)) }));
