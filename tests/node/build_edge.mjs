// Minify deploy/cloudfront/viewer-request.js for CloudFront's 10 KB limit, into
// viewer-request.min.js and into deploy/template.yaml (EdgeFunction's FunctionCode, its
// CONFIG given by the stack's parameters through Fn::Sub).
//   node tests/node/build_edge.mjs          rewrite both
//   node tests/node/build_edge.mjs --check  exit 1 if either is stale (the suite runs this)
import { readFileSync, writeFileSync } from 'node:fs';
import { minify } from 'terser';

const ROOT = new URL('../../', import.meta.url);
const SOURCE = new URL('deploy/cloudfront/viewer-request.js', ROOT);
const MINIFIED = new URL('deploy/cloudfront/viewer-request.min.js', ROOT);
const TEMPLATE = new URL('deploy/template.yaml', ROOT);
// What the stack puts in CONFIG: parameters by Fn::Sub (quoted ones are constrained to
// hold no quote or backslash), the key template as the stack sets THUMBSMITH_KEY_TEMPLATE.
export const STACK_CONFIG = '{bucket:"${BucketName}",renditions:"${Renditions}",' +
  'prefix:"${Prefix}",rules:"${Rules}",keyTemplate:"{rendition}/{key}.{ext}",' +
  'adhocTemplate:"${OnDemandKeyTemplate}",maxSide:${OnDemandMaxSide},' +
  'maxPixels:${OnDemandMaxPixels},maxQuality:${OnDemandMaxQuality},' +
  'formats:"${OnDemandFormats}",autoOrder:"${OnDemandAutoOrder}",widths:"${OnDemandWidths}",' +
  'signingKeys:"${SigningKeys}"}';
const LINE = /^( *FunctionCode: !Sub ).*$/m;

const code = (await minify(readFileSync(SOURCE, 'utf8'), {
  ecma: 2015, compress: { passes: 2 }, mangle: true, format: { comments: false },
})).code + '\n';
const config = code.match(/CONFIG=(\{.*?signingKeys:"[^"]*"\})/);
if (!config) throw new Error('no CONFIG={...} in the minified code');
const deployed = code.replace(config[1], () => STACK_CONFIG);
const template = readFileSync(TEMPLATE, 'utf8');
if (!LINE.test(template)) throw new Error('deploy/template.yaml has no FunctionCode: !Sub line');
const updated = template.replace(LINE, (_, head) => head + JSON.stringify(deployed));

if (process.argv.includes('--check')) {
  const stale = [];
  if (readFileSync(MINIFIED, 'utf8') !== code) stale.push('deploy/cloudfront/viewer-request.min.js');
  if (updated !== template) stale.push('deploy/template.yaml');
  if (stale.length) {
    console.error(`stale: ${stale.join(', ')}; run node tests/node/build_edge.mjs`);
    process.exit(1);
  }
} else {
  writeFileSync(MINIFIED, code);
  writeFileSync(TEMPLATE, updated);
}
console.log(`viewer-request.min.js: ${Buffer.byteLength(code)} bytes`);
