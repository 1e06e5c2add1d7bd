// thumbsmith serve: the grid, uploads, removal and the detail view. No build step.
"use strict";

const CHANGE = { "X-Thumbsmith": "1" };
const grid = document.getElementById("grid");
const uploads = document.getElementById("uploads");
const detail = document.getElementById("detail");
const cards = new Map(); // key -> {sig, el}
let busy = 0; // uploads in flight or renders pending: poll faster
let site = null; // the last listing: bucket, prefix, max_bytes

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function fmtBytes(n) {
  if (n === undefined || n === null) return "? bytes";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function facts(src) {
  const size = src.width ? `${src.width}×${src.height}` : "size unknown";
  const turned = src.orientation > 1 ? ` · EXIF orientation ${src.orientation}` : "";
  return `${src.format || "unknown format"} · ${size}${turned} · ${fmtBytes(src.bytes)}`;
}

function byFormat(renditions) {
  const groups = new Map();
  for (const r of renditions) {
    if (!groups.has(r.format)) groups.set(r.format, []);
    groups.get(r.format).push(r);
  }
  return groups;
}

function paintPlaceholder(node, placeholder) {
  if (!placeholder) return;
  if (placeholder.color) node.style.backgroundColor = placeholder.color;
  if (placeholder.data_uri) node.style.backgroundImage = `url("${placeholder.data_uri}")`;
}

function renditionFigure(r, scaled) {
  const img = el("img", {
    src: r.url, alt: `${r.name} ${r.format}`, class: "rendition-img",
    "data-key": r.key, "data-width": r.width, "data-height": r.height, "data-bytes": r.bytes,
  });
  if (!scaled) { img.width = r.width; img.height = r.height; }
  const caption = el("figcaption", { class: "size", title: `${r.bytes} bytes` },
    el("b", { text: r.name }), ` ${r.format}`, el("br"), `${r.width}×${r.height} · ${fmtBytes(r.bytes)}`);
  if (r.ssim !== undefined) caption.append(el("br"), similarity(r));
  return el("figure", { class: "rendition" }, img, caption);
}

// The detail view's promise check: SSIM against the pixels the encoders got, and the
// gap to the JPEG of the same rendition (negative: below it).
function similarity(r) {
  const text = `SSIM ${r.ssim.toFixed(4)}`;
  if (r.ssim_gap === undefined) return el("span", { class: "ssim", text });
  const gap = `${r.ssim_gap >= 0 ? "+" : "−"}${Math.abs(r.ssim_gap).toFixed(4)} vs JPEG`;
  return el("span", { class: "ssim", "data-gap": r.ssim_gap, text: `${text} · ${gap}` });
}

function detailHref(key) { return `#/source/${encodeURIComponent(key)}`; }

function card(view) {
  const preview = el("a", { class: "preview", href: detailHref(view.key) });
  paintPlaceholder(preview, view.placeholder);
  const first = view.renditions.filter((r) => r.format === "jpeg").concat(view.renditions)
    .sort((a, b) => a.width - b.width).find((r) => r.width >= 140) || view.renditions[0];
  if (first) {
    const img = el("img", { src: first.url, alt: "" });
    img.addEventListener("load", () => img.classList.add("loaded"));
    preview.append(img);
  }
  const name = view.key.split("/").pop();
  const status = el("p", { class: `status ${view.status}` });
  if (view.status === "pending") status.textContent = "pending…";
  else if (view.error) { status.textContent = view.error; status.classList.add("error"); }
  else status.textContent = `${view.renditions.length} renditions`;
  const formats = el("div", { class: "formats" });
  for (const [format, list] of byFormat(view.renditions)) {
    formats.append(el("div", { class: "format", "data-format": format },
      el("h3", { text: format }), ...list.map((r) => renditionFigure(r, true))));
  }
  const del = el("button", { class: "delete", type: "button", text: "Delete" });
  del.addEventListener("click", () => removeSource(view.key, node));
  const node = el("article", { class: "card", "data-key": view.key, "data-status": view.status },
    preview,
    el("h2", {}, el("a", { href: detailHref(view.key), text: name, title: view.key })),
    el("p", { class: "facts", text: facts(view.source) }),
    status, del, formats);
  return node;
}

async function refresh() {
  let data;
  try {
    const res = await fetch("/api/sources", { cache: "no-store" });
    data = await res.json();
  } catch (err) {
    site = data;
  document.getElementById("where").textContent = `server unreachable (${err})`;
    return;
  }
  site = data;
  document.getElementById("where").textContent =
    `${data.bucket}/${data.prefix} → ${data.output_bucket}/ · ${data.sources.length} sources · ` +
    `uploads up to ${fmtBytes(data.max_bytes)}`;
  const seen = new Set();
  let previous = null;
  busy = 0;
  for (const view of data.sources) {
    seen.add(view.key);
    if (view.status === "pending") busy++;
    const sig = JSON.stringify(view);
    let entry = cards.get(view.key);
    if (!entry || entry.sig !== sig) {
      const node = card(view);
      if (entry) entry.el.replaceWith(node);
      entry = { sig, el: node };
      cards.set(view.key, entry);
    }
    // Keep the server's order (by key) without touching cards already in place.
    const want = previous ? previous.nextSibling : grid.firstChild;
    if (want !== entry.el) grid.insertBefore(entry.el, want);
    previous = entry.el;
  }
  for (const [key, entry] of cards) {
    if (!seen.has(key)) { entry.el.remove(); cards.delete(key); }
  }
}

async function removeSource(key, node) {
  if (!window.confirm(`Delete ${key} and its renditions?`)) return;
  const res = await fetch(`/api/source?key=${encodeURIComponent(key)}`, { method: "DELETE", headers: CHANGE });
  if (res.ok) node.dataset.status = "deleting";
  refresh();
}

function failed(item, detail) {
  item.className = "error";
  item.textContent = `error: ${detail}`;
  const dismiss = el("button", { type: "button", text: "×", title: "dismiss" });
  dismiss.addEventListener("click", () => item.remove());
  item.append(" ", dismiss);
}

async function upload(file) {
  const item = el("li", { class: "pending", "data-name": file.name, text: `${file.name}: uploading…` });
  uploads.append(item);
  if (site && file.size > site.max_bytes) {
    // The server would answer 413 (and stop reading); say it without sending the bytes.
    const name = file.name.replaceAll("\\", "/").split("/").pop();
    failed(item, `${site.prefix_name}${name}: ${file.size} bytes is over the ` +
      `limit of ${site.max_bytes} (THUMBSMITH_MAX_BYTES)`);
    return;
  }
  busy++;
  let res, body;
  try {
    res = await fetch(`/api/upload?name=${encodeURIComponent(file.name)}`, {
      method: "PUT", headers: { ...CHANGE, "Content-Type": file.type || "application/octet-stream" },
      body: file,
    });
    body = await res.json().catch(() => ({ detail: res.statusText }));
  } catch (err) {
    res = null; body = { detail: String(err) };
  }
  if (res && res.ok) {
    item.remove(); // its card takes over, pending until the watch has rendered it
  } else {
    failed(item, body.detail);
  }
  refresh();
}

function uploadAll(files) { for (const f of files) upload(f); }

document.getElementById("file").addEventListener("change", (ev) => {
  uploadAll(ev.target.files);
  ev.target.value = "";
});
for (const target of [document.getElementById("drop"), document.body]) {
  target.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    document.getElementById("drop").classList.add("over");
  });
  target.addEventListener("dragleave", () => document.getElementById("drop").classList.remove("over"));
  target.addEventListener("drop", (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    document.getElementById("drop").classList.remove("over");
    uploadAll(ev.dataTransfer.files);
  });
}

// --- detail view (#/source/KEY) -------------------------------------------------------
async function showDetail() {
  const match = location.hash.match(/^#\/source\/(.+)$/);
  if (!match) { detail.hidden = true; detail.replaceChildren(); return; }
  const key = decodeURIComponent(match[1]);
  const res = await fetch(`/api/source?key=${encodeURIComponent(key)}`, { cache: "no-store" });
  const view = await res.json();
  if (!res.ok) { detail.replaceChildren(el("p", { text: view.detail }), el("a", { href: "#", text: "back" })); detail.hidden = false; return; }
  const back = el("a", { href: "#", text: "← all sources" });
  const time = view.render_ms === null ? "render time: not recorded (rendered before this server ran)"
    : `render time: ${view.render_ms} ms`;
  const original = view.source.browser_can_show
    ? el("figure", { class: "original" }, el("img", { src: view.source.url, alt: "original", id: "original" }),
      el("figcaption", { text: `original · ${facts(view.source)}` }))
    : el("p", { text: `original: ${facts(view.source)} (this browser cannot show ${view.source.format || "it"})` });
  const rows = [];
  for (const [format, list] of byFormat(view.renditions)) {
    rows.push(el("h3", { text: `${format} at 1:1` }),
      el("div", { class: "row" }, ...list.map((r) => renditionFigure(r, false))));
  }
  const manifest = view.manifest_json
    ? el("pre", { id: "manifest", text: JSON.stringify(view.manifest_json, null, 2) })
    : el("p", { id: "manifest", text: "No manifest for this source yet; the renditions above are read from the output bucket." });
  const parts = [back, el("h2", { text: view.key })];
  if (view.error) parts.push(el("p", { class: "status error", text: view.error }));
  parts.push(el("p", { class: "facts", id: "render-time", text: time }), original);
  if (view.ondemand && view.source.width) parts.push(...onDemand(view));
  parts.push(...rows, el("h3", { text: "manifest" }), manifest);
  detail.replaceChildren(...parts);
  detail.hidden = false;
}

// --- on demand: any width, from the origin mounted at /origin --------------------------
// The pre-made renditions above came from the watch; this one is rendered on first request
// (MISS), written to the output bucket, and served from there after (HIT).
const IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"; // as an <img>
let onDemandUrl = null; // the blob: URL shown, revoked when replaced

function onDemand(view) {
  // Renditions are upright and never upscaled: the widest is the upright source's width.
  const max = view.source.orientation >= 5 ? view.source.height : view.source.width;
  const slider = el("input", { type: "range", id: "od-width", min: 16, max, step: 1,
    value: Math.min(640, max), "aria-label": "width" });
  const picker = el("select", { id: "od-format", "aria-label": "format" },
    ...view.ondemand.formats.map((f) => el("option", { value: f, text: f })));
  const label = el("output", { id: "od-width-text", text: `${slider.value} px` });
  const status = el("p", { class: "facts", id: "od-status", text: "" });
  const img = el("img", { id: "od-img", alt: "on-demand rendition" });
  let timer = null;
  const ask = () => { clearTimeout(timer); timer = setTimeout(() => loadOnDemand(view.key, slider, picker, img, status), 150); };
  slider.addEventListener("input", () => { label.textContent = `${slider.value} px`; ask(); });
  picker.addEventListener("change", ask);
  loadOnDemand(view.key, slider, picker, img, status);
  return [el("h3", { text: "on demand (thumbsmith origin at /origin)" }),
    el("div", { class: "ondemand-controls" }, slider, label, picker), status,
    el("figure", { class: "ondemand" }, img)];
}

async function loadOnDemand(key, slider, picker, img, status) {
  const width = slider.value, format = picker.value;
  const q = new URLSearchParams({ key, w: width, f: format });
  const signed = await (await fetch(`/api/ondemand?${q}`, { cache: "no-store" })).json();
  if (!signed.url) { status.textContent = `error: ${signed.detail}`; return; }
  const started = performance.now();
  const res = await fetch(signed.url, { headers: { Accept: IMAGE_ACCEPT }, cache: "no-store" });
  const ms = Math.round(performance.now() - started);
  const cache = res.headers.get("X-Thumbsmith-Cache") || "?";
  if (slider.value !== width || picker.value !== format) return; // a newer request is on its way
  if (!res.ok) {
    status.textContent = `w=${width} ${format}: HTTP ${res.status} ${await res.text()}`;
    status.dataset.cache = cache;
    return;
  }
  const blob = await res.blob();
  if (onDemandUrl) URL.revokeObjectURL(onDemandUrl);
  onDemandUrl = URL.createObjectURL(blob);
  img.dataset.width = width;
  img.dataset.format = format;
  img.src = onDemandUrl;
  status.dataset.cache = cache;
  status.dataset.width = width;
  status.textContent = `w=${width} ${format} → ${res.headers.get("Content-Type")} · ` +
    `X-Thumbsmith-Cache: ${cache} · ${fmtBytes(blob.size)} · ${ms} ms · ${signed.url.split("?")[0]}`;
}

window.addEventListener("hashchange", showDetail);
async function loop() {
  await refresh();
  setTimeout(loop, busy ? 300 : 1000);
}
loop();
showDetail();
