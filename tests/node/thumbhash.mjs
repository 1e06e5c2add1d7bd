// The author's reference implementation (npm thumbhash), for tests/test_placeholder.py.
//   node thumbhash.mjs decode <base64>          -> {w, h, averageRGBA, approximateAspectRatio}
//   node thumbhash.mjs encode <w> <h> <rgba>    -> base64 ThumbHash of a raw RGBA file
import { readFileSync } from 'node:fs';
import {
  rgbaToThumbHash, thumbHashToRGBA, thumbHashToAverageRGBA, thumbHashToApproximateAspectRatio,
} from 'thumbhash';

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'decode') {
  const hash = new Uint8Array(Buffer.from(args[0], 'base64'));
  const { w, h } = thumbHashToRGBA(hash);
  console.log(JSON.stringify({
    w, h,
    averageRGBA: thumbHashToAverageRGBA(hash),
    approximateAspectRatio: thumbHashToApproximateAspectRatio(hash),
  }));
} else if (cmd === 'encode') {
  const rgba = new Uint8Array(readFileSync(args[2]));
  console.log(Buffer.from(rgbaToThumbHash(+args[0], +args[1], rgba)).toString('base64'));
} else {
  console.error('usage: node thumbhash.mjs decode <b64> | encode <w> <h> <rgba-file>');
  process.exit(2);
}
