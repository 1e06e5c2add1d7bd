// The CloudFront Function (deploy/cloudfront/viewer-request.js) against every case of
// tests/vectors/requests.json, which the Python decide() wrote. Run by node's own test
// runner from tests/deploy/test_viewer_request.py: node --test tests/node/viewer_request.test.mjs
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import vm from 'node:vm';

const ROOT = new URL('../../', import.meta.url);
const CODE = readFileSync(new URL('deploy/cloudfront/viewer-request.js', ROOT), 'utf8');
// What the stack deploys (tests/node/build_edge.mjs): every case runs on both.
const MINIFIED = readFileSync(new URL('deploy/cloudfront/viewer-request.min.js', ROOT), 'utf8');
// And the code in deploy/template.yaml, its ${Parameter}s given placeholder values (each
// case sets CONFIG itself): so a build that broke the stack's copy fails here too.
const TEMPLATE = readFileSync(new URL('deploy/template.yaml', ROOT), 'utf8');
const DEPLOYED = JSON.parse(TEMPLATE.match(/^ *FunctionCode: !Sub (".*")$/m)[1])
  .replace(/\$\{(\w+)\}/g, (_, name) => (/^OnDemandMax/.test(name) ? '1' : 'x'));
const VECTORS = JSON.parse(readFileSync(new URL('tests/vectors/requests.json', ROOT), 'utf8'));
const EDGE = 'x-thumbsmith-edge';
const TTL = { 400: 60, 403: 10, 404: 60 };

// A context with nothing but what the runtime gives: ECMAScript built-ins, require of
// 'crypto' only, and a clock set to the case's time.
function load(config, now, code = CODE) {
  const context = {
    require(name) {
      if (name !== 'crypto') throw new Error(`CloudFront Functions have no module ${name}`);
      return crypto;
    },
    Date: { now: () => now * 1000 },
  };
  vm.createContext(context);
  vm.runInContext(code, context, { filename: 'viewer-request.js' });
  Object.assign(context.CONFIG, config);
  return context.handler;
}

// The query string as CloudFront hands it over: one field per name, values as sent,
// repeats in multiValue.
function querystring(raw) {
  const qs = {};
  for (const part of raw.split('&')) {
    if (!part) continue;
    const at = part.indexOf('=');
    const name = at < 0 ? part : part.slice(0, at);
    const value = at < 0 ? '' : part.slice(at + 1);
    if (Object.hasOwn(qs, name)) {
      qs[name].multiValue ??= [{ value: qs[name].value }];
      qs[name].multiValue.push({ value });
    } else {
      qs[name] = { value };
    }
  }
  return qs;
}

function event(request) {
  const headers = { host: { value: 'd111111abcdef8.cloudfront.net' }, [EDGE]: { value: 'forged' } };
  if (request.accept !== null) headers.accept = { value: request.accept };
  return {
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '198.51.100.11' },
    request: { method: 'GET', uri: request.uri, querystring: querystring(request.querystring),
      headers, cookies: {} },
  };
}

for (const [version, code] of [['source', CODE], ['minified', MINIFIED], ['deployed', DEPLOYED]])
for (const { name, request, expect } of VECTORS.cases) {
  test(`${version}: ${name}`, () => {
    const handler = load(VECTORS.configs[request.config], request.now, code);
    const out = handler(event(request));
    if (expect.status === 200) {
      assert.equal(out.statusCode, undefined, out.body && out.body.data);
      assert.equal(out.uri, expect.uri);
      assert.deepEqual(Object.keys(out.querystring), []);
      assert.equal(out.headers[EDGE] && out.headers[EDGE].value, expect.mark || undefined);
      if (expect.output_key) {
        const key = out.uri.slice(1).split('/').map(decodeURIComponent).join('/');
        assert.equal(key, expect.output_key);
        assert.ok(out.uri.endsWith('.' + (expect.format === 'jpeg' ? 'jpg' : expect.format)));
      }
    } else {
      assert.equal(out.statusCode, expect.status);
      assert.equal(out.body.data, expect.reason + '\n');
      assert.equal(out.headers['cache-control'].value, `public, max-age=${TTL[expect.status]}`);
      assert.equal(out.headers['content-type'].value, 'text/plain; charset=utf-8');
    }
  });
}

test('the vectors cover what the edge must get right', () => {
  const names = VECTORS.cases.map((c) => c.name).join('\n');
  for (const word of ['chromium', 'safari', 'firefox', 'curl', 'tampered', 'wrong key',
    'older key', 'expired', 'bad expiry', 'unsigned', 'signing off', 'unicode', 'plus']) {
    assert.match(names, new RegExp(word));
  }
  assert.ok(VECTORS.cases.length >= 90);
});

test('a viewer-sent mark never passes, on any path', () => {
  const handler = load(VECTORS.configs.main, 0);
  const out = handler(event({ uri: '/_ondemand/images/a.jpg/w1-inside.jpg', querystring: '',
    accept: null }));
  assert.equal(out.headers[EDGE], undefined);
});

test('only the crypto module is required', () => {
  const required = [...CODE.matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
  assert.deepEqual(required, ['crypto']);
});
