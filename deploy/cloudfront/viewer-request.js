// thumbsmith at the edge: CloudFront Function (cloudfront-js-2.0), viewer request.
// /img/{source key}?... gets the decision thumbsmith.service.ondemand.requests.decide
// makes: a refusal answered here, or the request rewritten to the output key, so the
// bucket answers first and the cache key is the key alone. tests/vectors/requests.json
// holds the cases both must decide alike. Other paths pass, without their query.
var crypto = require('crypto');

// CONFIG: deploy/template.yaml writes these from the stack's parameters.
var CONFIG = {
  bucket: 'photos',
  renditions: 'large=1280,medium=640,thumb=160',
  prefix: 'images/',
  rules: '',
  keyTemplate: '{rendition}/{key}.{ext}',
  adhocTemplate: '_ondemand/{key}/{id}.{ext}',
  maxSide: 4096,
  maxPixels: 16777216,
  maxQuality: 100,
  formats: 'jpeg,webp,avif,png',
  autoOrder: 'avif,webp,jpeg,png',
  widths: '',
  signingKeys: ''
};
// END CONFIG

// name: [extension, MIME type, support rank (0: shown everywhere), lossy]
var FORMATS = {jpeg: ['jpg', 'image/jpeg', 0, 1], webp: ['webp', 'image/webp', 2, 1],
  avif: ['avif', 'image/avif', 3, 1], png: ['png', 'image/png', 1, 0]};
var NAMES = {jpeg: 'jpeg', jpg: 'jpeg', webp: 'webp', avif: 'avif', png: 'png'};
var SINGLE = ['jpeg', 'png', 'webp', 'avif'];
var PARAMS = ['p', 'w', 'h', 'fit', 'pos', 'q', 'f', 'exp', 's'];
var FITS = ['inside', 'cover', 'contain', 'fill'];
var POSITIONS = ['center', 'entropy', 'attention'];
var TOKENS = FITS.concat(POSITIONS, ['centre', 'upscale', 'animated']);
var ANSWERS = {400: ['Bad Request', 60], 403: ['Forbidden', 10], 404: ['Not Found', 60]};
var EDGE = 'x-thumbsmith-edge';
var QVALUE = /^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/;
var DIGITS = /^[0-9]+$/;

function has(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }
function Refusal(status, reason) { this.status = status; this.reason = reason; }
function refuse(status, reason) { throw new Refusal(status, reason); }
function list(text) {
  return text.split(',').map(s => s.trim()).filter(s => s).map(s => has(NAMES, s) ? NAMES[s] : s);
}
function fill(template, values) {
  // Every occurrence, {key} last (a key may hold "{ext}"); split/join: no "$" patterns.
  return ['rendition', 'id', 'ext', 'bucket', 'key'].reduce((t, n) =>
    has(values, n) ? t.split('{' + n + '}').join(values[n]) : t, template);
}

function config() {
  var presets = {}, names = [];
  CONFIG.renditions.split(',').forEach(part => {
    part = part.trim();
    if (!part) return;
    var name = part.slice(0, part.indexOf('=')).trim(), formats = ['jpeg'];
    part.split(':').slice(1).forEach(t => {
      t = t.trim().toLowerCase();
      if (TOKENS.indexOf(t) < 0) formats = t.split('+').map(f => NAMES[f.split('@')[0].trim()]);
    });
    presets[name] = formats;
    names.push(name);
  });
  var prefixes = [CONFIG.prefix];
  CONFIG.rules.split(';').forEach(r => {
    r = r.trim();
    if (r) prefixes.push(r.slice(0, r.lastIndexOf('=')));
  });
  return {presets: presets, names: names, prefixes: prefixes, formats: list(CONFIG.formats),
    order: list(CONFIG.autoOrder), keys: list(CONFIG.signingKeys),
    widths: CONFIG.widths.split(',').filter(w => w.trim()).map(w => +w)};
}

// Python's urllib.parse.unquote with errors="strict": runs of %XX decode as UTF-8 (or
// refuse), a "%" not followed by two hex digits stays as it is.
function unquote(text, query) {
  if (query) text = text.replace(/\+/g, ' ');
  return text.replace(/(%[0-9A-Fa-f]{2})+/g, run => {
    try { return decodeURIComponent(run); } catch (e) {
      refuse(400, 'the URL is not valid percent-encoded UTF-8');
    }
  });
}
// RFC 3986: unreserved characters kept, every other byte of the UTF-8 as %XX.
function enc(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
function repr(s) {
  // Python's repr() of a str, for the reasons the origin gives (ASCII escapes only).
  var q = s.indexOf("'") >= 0 && s.indexOf('"') < 0 ? '"' : "'";
  return q + s.replace(/[\\'"\x00-\x1f\x7f-\x9f]/g, c => {
    if (c === '\\' || c === q) return '\\' + c;
    if (c === '"' || c === "'") return c;
    var named = {'\t': '\\t', '\n': '\\n', '\r': '\\r'}[c];
    return named || '\\x' + ('0' + c.charCodeAt(0).toString(16)).slice(-2);
  }) + q;
}
function hmac(key, text) { return crypto.createHmac('sha256', key).update(text).digest('base64url'); }
function same(a, b) {
  // Constant time for the length of a (a computed signature, always 43 characters).
  var diff = a.length === b.length ? 0 : 1, c = diff ? a : b;
  for (var i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ c.charCodeAt(i);
  return diff === 0;
}

function checkKey(key) {
  if (!key) refuse(400, 'empty key');
  if (key.indexOf('\0') >= 0) refuse(400, 'key ' + repr(key) + ' contains NUL');
  var segments = key.split('/');
  if (key[0] === '/' || segments.some(s => s === '' || s === '.' || s === '..')) {
    refuse(400, 'key ' + repr(key) + " has a leading '/', an empty, '.' or '..' segment; " +
      'S3-compatible stores disagree on such keys (SeaweedFS stores images//a.jpg as images/a.jpg)');
  }
  if (segments.some(s => enc(s).replace(/%../g, '.').length > 255)) {
    refuse(400, 'key ' + repr(key) + ' has a segment longer than 255 bytes');
  }
}

function pairs(querystring) {
  var out = [];
  Object.keys(querystring).forEach(raw => {
    var field = querystring[raw];
    var values = field.multiValue ? field.multiValue.map(v => v.value) : [field.value];
    values.forEach(v => out.push([unquote(raw, true), unquote(v || '', true)]));
  });
  return out;
}

function unique(given) {
  var unknown = given.map(p => p[0]).filter((k, i, a) => PARAMS.indexOf(k) < 0 && a.indexOf(k) === i).sort();
  if (unknown.length) {
    refuse(400, 'unknown parameter' + (unknown.length > 1 ? 's ' : ' ') + unknown.join(', ') +
      '; use ' + PARAMS.join(', '));
  }
  var params = {}, twice = [];
  given.forEach(p => {
    if (has(params, p[0]) && twice.indexOf(p[0]) < 0) twice.push(p[0]);
    params[p[0]] = p[1];
  });
  if (twice.length) {
    var many = twice.length > 1;
    refuse(400, 'parameter' + (many ? 's ' : ' ') + twice.sort().join(', ') + (many ? ' are' : ' is') + ' given twice');
  }
  return params;
}
function side(params, name) {
  if (!has(params, name)) return null;
  var raw = params[name];
  if (!DIGITS.test(raw) || +raw < 1 || +raw > CONFIG.maxSide) {
    refuse(400, name + '=' + raw + ' is not a whole number of pixels in 1..' + CONFIG.maxSide);
  }
  return +raw;
}
function choice(params, name, choices, fallback) {
  var raw = has(params, name) ? params[name] : fallback;
  if (choices.indexOf(raw) < 0) refuse(400, name + '=' + raw + ' is not valid; use ' + choices.join(', '));
  return raw;
}

function parseQuery(given, cfg) {
  var params = unique(given);
  var raw = has(params, 'f') ? params.f : 'auto', text = raw.trim().toLowerCase(), fmt = 'auto';
  if (text !== 'auto') {
    fmt = has(NAMES, text) ? NAMES[text] : '';
    if (cfg.formats.indexOf(fmt) < 0) {
      refuse(400, 'f=' + raw + ' is not a format this origin makes; use auto, ' + cfg.formats.join(', '));
    }
  }
  if (has(params, 'p')) {
    var extra = Object.keys(params).filter(k => k !== 'p' && k !== 'f').sort();
    if (extra.length) refuse(400, 'p= names a configured rendition; leave out ' + extra.join(', '));
    return {fmt: fmt, preset: params.p, params: params};
  }
  var w = side(params, 'w'), h = side(params, 'h');
  if (w === null && h === null) refuse(400, 'give w=, h= or both (or p= for a configured rendition)');
  var fit = choice(params, 'fit', FITS, 'inside'), pos = choice(params, 'pos', POSITIONS, 'center');
  if (fit !== 'inside' && (w === null || h === null)) {
    refuse(400, 'fit=' + fit + ' fills a box of both sides: give w= and h=');
  }
  if (has(params, 'pos') && fit !== 'cover') refuse(400, 'pos= applies to fit=cover only');
  if (w && h && w * h > CONFIG.maxPixels) refuse(400, 'w x h is over the limit of ' + CONFIG.maxPixels + ' pixels');
  var q = null;
  if (has(params, 'q')) {
    q = params.q;
    if (!DIGITS.test(q) || +q < 1 || +q > CONFIG.maxQuality) {
      refuse(400, 'q=' + q + ' is not a quality in 1..' + CONFIG.maxQuality);
    }
    if (fmt !== 'auto' && !FORMATS[fmt][3]) refuse(400, 'q= means nothing for ' + fmt + ', which is lossless');
    q = +q;
  }
  var id = [w ? 'w' + w : '', h ? 'h' + h : '', fit, fit === 'cover' ? pos : '', q === null ? '' : 'q' + q];
  // ?w=W alone, W in the allowlist: anyone may ask for it, unsigned (as Next.js's widths).
  var open = cfg.widths.indexOf(w) >= 0 && h === null && fit === 'inside' && q === null &&
    !has(params, 's') && !has(params, 'exp');
  return {fmt: fmt, id: id.filter(p => p).join('-'), params: params, open: open};
}

function parseAccept(header) {
  var ranges = {};
  header.split(',').forEach(part => {
    var fields = part.split(';').map(f => f.trim()), media = fields[0].toLowerCase(), q = 1;
    if (!media || media.indexOf('/') < 0) return;
    fields.slice(1).forEach(param => {
      var at = param.indexOf('='), value = at < 0 ? '' : param.slice(at + 1).trim();
      if ((at < 0 ? param : param.slice(0, at)).trim().toLowerCase() === 'q') {
        q = QVALUE.test(value) ? +value : 0;
      }
    });
    if (!has(ranges, media)) ranges[media] = q;
  });
  return ranges;
}
function qualityOf(fmt, ranges) {
  var mime = FORMATS[fmt][1];
  if (has(ranges, mime)) return ranges[mime];
  if (FORMATS[fmt][2] > 1) return 0;  // wildcards vouch only for JPEG and PNG
  var wild = [mime.split('/')[0] + '/*', '*/*'].filter(w => has(ranges, w));
  return wild.length ? ranges[wild[0]] : 0;
}
function negotiate(accept, formats, order) {
  var ranked = order.filter(f => formats.indexOf(f) >= 0).concat(formats.filter(f => order.indexOf(f) < 0));
  var ranges = parseAccept(accept || '*/*'), best = '', bestQ = 0;
  ranked.forEach(f => {
    var q = qualityOf(f, ranges);
    if (q > bestQ) { best = f; bestQ = q; }
  });
  return best || SINGLE.filter(f => formats.indexOf(f) >= 0)[0] || ranked[0];
}

function checkSignature(key, params, now, cfg) {
  if (!cfg.keys.length) {
    refuse(403, 'ad-hoc renditions need signed URLs and no signing key is set ' +
      '(THUMBSMITH_ORIGIN_SIGNING_KEYS); p= names a configured rendition, and ' +
      'w= alone one of THUMBSMITH_ORIGIN_WIDTHS');
  }
  if (!params.s) refuse(403, 'this URL is not signed (s= is missing)');
  var text = '/img/' + key.split('/').map(enc).join('/') + '?' + Object.keys(params)
    .filter(k => k !== 's').sort().map(k => enc(k) + '=' + enc(params[k])).join('&');
  // Every key is tried: the time taken says nothing about which one matched.
  var ok = cfg.keys.map(k => same(hmac(k, text), params.s)).indexOf(true) >= 0;
  if (!ok) refuse(403, 'the signature does not match this URL');
  var exp = params.exp;
  if (exp !== undefined) {
    if (!DIGITS.test(exp) || exp.length > 12) refuse(400, 'exp= is not a whole number of Unix seconds');
    if (+exp < now) refuse(403, 'this signed URL has expired');
  }
}

function decide(key, given, accept, now, cfg) {
  checkKey(key);
  var query = parseQuery(given, cfg), fmt = query.fmt, auto = fmt === 'auto';
  // The stack writes renditions to another bucket, so no source key is its own output.
  if (!cfg.prefixes.some(p => key.indexOf(p) === 0) || key.slice(-1) === '/') {
    refuse(404, repr(key) + ' is not under a source prefix this origin serves');
  }
  var values = {bucket: CONFIG.bucket, key: key};
  if (query.preset !== undefined) {
    var name = query.preset, formats = has(cfg.presets, name) ? cfg.presets[name] : null;
    if (!formats) {
      refuse(400, 'p=' + name + ' is not a configured rendition; configured: ' + (cfg.names.join(', ') || 'none'));
    }
    if (auto) fmt = negotiate(accept, formats, cfg.order);
    else if (formats.indexOf(fmt) < 0) {
      refuse(400, 'rendition ' + repr(name) + ' is made as ' + formats.join(', ') + ', not ' + fmt);
    }
    values.rendition = name;
    values.ext = FORMATS[fmt][0];
    return {key: fill(CONFIG.keyTemplate, values), mark: ''};
  }
  if (!query.open) checkSignature(key, query.params, now, cfg);
  if (auto) fmt = negotiate(accept, cfg.formats, cfg.order);
  values.id = query.id;
  values.ext = FORMATS[fmt][0];
  var out = fill(CONFIG.adhocTemplate, values);
  return {key: out, mark: query.open || !cfg.keys.length ? '' : hmac(cfg.keys[0], 'thumbsmith-edge:' + out)};
}

function handler(event) {
  var request = event.request, query = request.querystring, accept = request.headers.accept;
  // Only this function vouches for a key: a mark the viewer sent never reaches the origin.
  delete request.headers[EDGE];
  request.querystring = {};
  if (request.uri.indexOf('/img/') !== 0) return request;
  try {
    var cfg = config();
    var d = decide(unquote(request.uri.slice(5), false), pairs(query), accept ? accept.value : null,
      Date.now() / 1000, cfg);
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    return {statusCode: e.status, statusDescription: ANSWERS[e.status][0],
      headers: {'content-type': {value: 'text/plain; charset=utf-8'},
        'cache-control': {value: 'public, max-age=' + ANSWERS[e.status][1]}},
      body: {encoding: 'text', data: e.reason + '\n'}};
  }
  request.uri = '/' + d.key.split('/').map(enc).join('/');
  if (d.mark) request.headers[EDGE] = {value: d.mark};
  return request;
}
