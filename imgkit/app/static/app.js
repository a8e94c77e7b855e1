// imgkit app: plain JavaScript, no build step. Talks to the HTTP API of imgkit/app/server.py.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// fetch that turns every failure into an Error with the server's message (never a trace)
async function api(url, options = {}) {
  let resp;
  try {
    resp = await fetch(url, Object.assign({ credentials: "same-origin" }, options));
  } catch (err) {
    throw new Error("cannot reach the imgkit server: is `imgkit app` still running?");
  }
  let body = null;
  const type = resp.headers.get("content-type") || "";
  if (type.includes("application/json")) body = await resp.json();
  if (!resp.ok) {
    const msg = body && body.error ? body.error : `the server answered ${resp.status} ${resp.statusText}`;
    throw new Error(msg);
  }
  return body;
}

function showError(box, message) {
  box.textContent = message;
  box.hidden = !message;
}

function canvasBlob(canvas) {
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

function loadImageFromBlob(blob) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(blob);
    const img = new Image();
    img.onload = () => { URL.revokeObjectURL(url); resolve(img); };
    img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("the browser cannot read this file as an image")); };
    img.src = url;
  });
}

// draw an image into a canvas, reduced so that its longest side is at most maxSide (0: keep)
function drawFitted(canvas, img, maxSide) {
  let w = img.naturalWidth || img.width, h = img.naturalHeight || img.height;
  if (maxSide > 0 && Math.max(w, h) > maxSide) {
    const f = maxSide / Math.max(w, h);
    w = Math.max(1, Math.round(w * f)); h = Math.max(1, Math.round(h * f));
  }
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(img, 0, 0, w, h);
}

async function fetchSample(name, size) {
  const resp = await fetch(`/api/samples/${encodeURIComponent(name)}.png?size=${size}`);
  if (!resp.ok) {
    let msg = `cannot load sample ${name}`;
    try { msg = (await resp.json()).error || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return loadImageFromBlob(await resp.blob());
}

// ------------------------------------------------------------------ methods and their options

function optionField(method, opt) {
  const id = `opt-${method.task}-${method.name}-${opt.name}`;
  let input;
  if (opt.kind === "choice") {
    input = el("select", { id });
    for (const c of opt.choices) input.append(el("option", { value: c, text: c, selected: c === opt.default }));
  } else if (opt.kind === "bool") {
    input = el("input", { id, type: "checkbox", checked: opt.default === true });
  } else if (opt.kind === "int" || opt.kind === "float") {
    input = el("input", {
      id, type: "number", step: opt.kind === "int" ? (opt.odd ? 2 : 1) : "any",
      min: opt.low ?? null, max: opt.high ?? null,
      value: opt.default === null ? "" : String(opt.default),
      placeholder: opt.nullable ? "None" : null,
    });
  } else {
    input = el("input", { id, type: "text", value: opt.default === null ? "" : String(opt.default),
                          placeholder: opt.nullable ? "None" : null, list: opt.choices ? `${id}-list` : null });
    if (opt.choices) {
      const list = el("datalist", { id: `${id}-list` });
      for (const c of opt.choices) list.append(el("option", { value: c }));
      return el("label", { for: id, title: `${opt.doc} (${opt.accepts})` }, el("span", { text: opt.name }), input, list);
    }
  }
  input.dataset.option = opt.name;
  input.dataset.kind = opt.kind;
  input.dataset.default = opt.default === null ? "" : String(opt.default);
  input.dataset.nullable = opt.nullable ? "1" : "";
  return el("label", { for: id, title: `${opt.doc} (${opt.accepts})` }, el("span", { text: opt.name }), input);
}

function renderMethods(box, methods, checkedByDefault) {
  box.replaceChildren();
  for (const m of methods) {
    const check = el("input", { type: "checkbox", value: m.name, "data-method": m.name,
                                disabled: !m.available, checked: m.available && checkedByDefault.includes(m.name) });
    const head = el("label", { title: m.reference }, check, m.name, el("span", { class: `family ${m.family}`, text: m.family }));
    const opts = el("details", {}, el("summary", { text: m.options.length ? "options" : "no options" }));
    for (const o of m.options) opts.append(optionField(m, o));
    opts.append(el("p", { class: "muted", text: m.reference }));
    const div = el("div", { class: "method" + (m.available ? "" : " unavailable"), "data-method": m.name },
      head, el("div", { class: "summary", text: m.available ? m.summary : `unavailable: ${m.missing}` }), opts);
    box.append(div);
  }
}

// the checked methods and the options the user changed: [names], {method: {option: value}}
function chosenMethods(box) {
  const names = [], options = {};
  for (const div of box.querySelectorAll(".method")) {
    const check = div.querySelector("input[data-method]");
    if (!check.checked) continue;
    const name = check.value;
    names.push(name);
    const opts = {};
    for (const input of div.querySelectorAll("[data-option]")) {
      const kind = input.dataset.kind;
      if (kind === "bool") {
        if (String(input.checked) !== input.dataset.default) opts[input.dataset.option] = input.checked;
        continue;
      }
      const value = input.value.trim();
      if (value === input.dataset.default) continue;
      if (value === "" && input.dataset.nullable) opts[input.dataset.option] = null;
      else opts[input.dataset.option] = value;  // parsed and checked by the server, like CLI text
    }
    if (Object.keys(opts).length) options[name] = opts;
  }
  return { names, options };
}

// ------------------------------------------------------------------ "How it works" panels

function renderFigure(fig) {
  const figure = el("figure", { class: `fig fig-${fig.kind}` + (fig.pixelated ? " pixelated" : ""),
                                "data-kind": fig.kind, "data-frame-count": String(fig.frames.length) });
  const view = el("img", { class: "view", src: fig.frames[0], alt: fig.caption });
  figure.append(view);
  if (fig.kind === "animation" && fig.frames.length > 1) {
    const slider = el("input", { type: "range", min: 0, max: fig.frames.length - 1, value: 0, "aria-label": "frame" });
    const label = el("span", { class: "frame-label", text: fig.labels[0] || "" });
    const play = el("button", { class: "play", text: "Pause", "aria-label": "play or pause" });
    const strip = el("div", { class: "frames" });
    let i = 0, timer = null;
    const show = (k) => {
      i = k; view.src = fig.frames[k]; slider.value = k; label.textContent = fig.labels[k] || "";
      strip.querySelectorAll("img").forEach((t, j) => t.classList.toggle("current", j === k));
    };
    fig.frames.forEach((src, k) => strip.append(el("img", { src, alt: fig.labels[k] || `frame ${k}`, class: "frame",
                                                             title: fig.labels[k] || "", onclick: () => { stop(); show(k); } })));
    const start = () => { timer = setInterval(() => show((i + 1) % fig.frames.length), 350); play.textContent = "Pause"; };
    const stop = () => { clearInterval(timer); timer = null; play.textContent = "Play"; };
    play.addEventListener("click", () => (timer ? stop() : start()));
    slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });
    figure.append(el("div", { class: "player" }, play, slider, label), strip);
    show(0);
    start();
  }
  figure.append(el("figcaption", { text: fig.caption }));
  return figure;
}

function renderExplain(box, data) {
  box.replaceChildren(el("h4", { text: data.title }), el("p", { class: "text", text: data.text }));
  if (data.paper) box.append(el("p", { class: "paper", text: `Paper: ${data.paper}` }));
  const figs = el("div", { class: "figs" });
  for (const fig of data.figures) figs.append(renderFigure(fig));
  box.append(figs);
  const facts = el("dl", { class: "facts" });
  for (const [k, v] of Object.entries(data.facts || {})) facts.append(el("dt", { text: k }), el("dd", { text: v }));
  box.append(facts);
}

// ------------------------------------------------------------------ running jobs

class Runner {
  constructor(prefix, task, defaults, inputCards, buildForm) {
    this.prefix = prefix; this.task = task; this.defaults = defaults;
    this.inputCards = inputCards; this.buildForm = buildForm;
    this.methodsBox = $(`${prefix}-methods`); this.runButton = $(`${prefix}-run`);
    this.cancelButton = $(`${prefix}-cancel`); this.progress = $(`${prefix}-progress`);
    this.status = $(`${prefix}-status`); this.errorBox = $(`${prefix}-error`);
    this.results = $(`${prefix}-results`); this.job = null; this.cards = [];
    this.runButton.addEventListener("click", () => this.run());
    this.cancelButton.addEventListener("click", () => this.cancel());
  }

  async loadMethods() {
    const data = await api(`/api/methods?task=${this.task}`);
    renderMethods(this.methodsBox, data.methods, this.defaults);
    return data;
  }

  async run() {
    showError(this.errorBox, "");
    const { names, options } = chosenMethods(this.methodsBox);
    try {
      if (!names.length) throw new Error("choose at least one method");
      const form = await this.buildForm();
      form.append("methods", names.join(","));
      form.append("options", JSON.stringify(options));
      const seed = $(`${this.prefix}-seed`).value.trim();
      if (seed !== "") form.append("seed", seed);
      this.runButton.disabled = true;
      this.progress.value = 0;
      this.status.textContent = "uploading…";
      const job = await api(`/api/${this.task}`, { method: "POST", body: form });
      this.startJob(job);
    } catch (err) {
      this.runButton.disabled = false;
      this.status.textContent = "";
      showError(this.errorBox, err.message);
    }
  }

  startJob(job) {
    this.job = job;
    this.cancelButton.disabled = false;
    this.results.replaceChildren(...this.inputCards());
    this.cards = job.runs.map((r) => this.makeCard(r));
    this.results.append(...this.cards.map((c) => c.root), ...this.cards.map((c) => c.explainBox));
    this.update(job);
    this.poll();
  }

  makeCard(run) {
    const img = el("img", { class: "result", alt: `${run.method} result`, hidden: true });
    const time = el("span", { class: "time" });
    const state = el("div", { class: "state", text: run.state });
    const prog = el("progress", { max: 1, value: 0 });
    const download = el("a", { class: "button download", hidden: true, text: "Download PNG" });
    const explainButton = el("button", { class: "how", hidden: true, text: "How it works", "aria-expanded": "false" });
    // the panel spans the whole row under the results, so that they stay side by side
    const explainBox = el("article", { class: "card wide explain", "data-method": run.method, hidden: true });
    const root = el("article", { class: "card result-card", "data-method": run.method, "data-state": run.state },
      el("header", {}, el("h3", { text: run.method }), time), state, prog, img,
      el("div", { class: "actions" }, download, explainButton));
    const card = { root, img, time, state, prog, download, explainButton, explainBox, loaded: false, run };
    explainButton.addEventListener("click", () => this.toggleExplain(card));
    return card;
  }

  async toggleExplain(card) {
    const open = card.explainBox.hidden;
    card.explainBox.hidden = !open;
    card.explainButton.setAttribute("aria-expanded", String(open));
    if (open && !card.loaded) {
      card.explainBox.textContent = "loading…";
      try {
        renderExplain(card.explainBox, await api(card.run.explain));
        card.loaded = true;
      } catch (err) {
        card.explainBox.replaceChildren(el("div", { class: "error", role: "alert", text: err.message }));
      }
    }
  }

  update(job) {
    this.job = job;
    this.progress.value = job.progress;
    const running = job.runs.find((r) => r.state === "running");
    if (job.state === "queued") {
      this.status.textContent = job.position ? `waiting: ${job.position} job(s) ahead` : "waiting for the server…";
    } else if (job.state === "running") {
      this.status.textContent = running ? `running ${running.method}` + (running.total ? ` (${running.step}/${running.total})` : "") + "…" : "running…";
    } else {
      const secs = job.runs.reduce((s, r) => s + (r.seconds || 0), 0);
      const failed = job.runs.filter((r) => r.state === "error").length;
      this.status.textContent = `${job.state}: ${job.runs.length} method(s) in ${secs.toFixed(2)} s` + (failed ? `, ${failed} failed` : "");
    }
    job.runs.forEach((r, k) => {
      const c = this.cards[k];
      if (!c) return;
      c.run = r;
      c.root.dataset.state = r.state;
      c.prog.value = r.state === "running" ? (r.total ? r.step / r.total : 0) : (r.state === "queued" ? 0 : 1);
      c.prog.hidden = !(r.state === "running" || r.state === "queued");
      if (r.seconds !== null) c.time.textContent = `${r.seconds.toFixed(2)} s`;
      if (r.state === "error") {
        c.state.className = "state error";
        c.state.setAttribute("role", "alert");
        c.state.textContent = r.error;
      } else {
        c.state.textContent = r.note || r.state;
      }
      if (r.result && c.img.hidden) {
        c.img.src = r.result;
        c.img.hidden = false;
        c.download.href = r.result;
        c.download.setAttribute("download", `imgkit-${r.method}.png`);
        c.download.hidden = false;
      }
      if (r.explain) c.explainButton.hidden = false;
    });
  }

  async poll() {
    const id = this.job.id;
    while (this.job && this.job.id === id) {
      let job;
      try {
        job = await api(`/api/jobs/${id}`);
      } catch (err) {
        showError(this.errorBox, err.message);
        break;
      }
      this.update(job);
      if (job.state !== "queued" && job.state !== "running") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    this.runButton.disabled = false;
    this.cancelButton.disabled = true;
  }

  async cancel() {
    if (!this.job) return;
    this.cancelButton.disabled = true;
    this.status.textContent = "cancelling…";
    try {
      this.update(await api(`/api/jobs/${this.job.id}/cancel`, { method: "POST" }));
    } catch (err) {
      showError(this.errorBox, err.message);
    }
  }
}

function inputCard(title, canvas, overlay) {
  const img = el("img", { class: "result", alt: title });
  const c = document.createElement("canvas");
  c.width = canvas.width; c.height = canvas.height;
  const ctx = c.getContext("2d");
  ctx.drawImage(canvas, 0, 0);
  if (overlay) { ctx.globalAlpha = 0.5; ctx.drawImage(overlay, 0, 0); }
  img.src = c.toDataURL("image/png");
  return el("article", { class: "card input-card" }, el("header", {}, el("h3", { text: title })), img);
}

// ------------------------------------------------------------------ Inpaint tab: the mask painter

class Painter {
  constructor() {
    this.view = $("ip-canvas");
    this.image = document.createElement("canvas");   // the photo at working size
    this.mask = document.createElement("canvas");    // red strokes on transparent: the hole
    this.image.width = this.image.height = this.mask.width = this.mask.height = 0;  // nothing loaded
    this.undoStack = [];
    this.erasing = false;
    this.drawing = false;
    this.last = null;
    this.wrap = $("ip-drop");
    const v = this.view;
    v.addEventListener("pointerdown", (e) => this.down(e));
    v.addEventListener("pointermove", (e) => this.move(e));
    for (const ev of ["pointerup", "pointercancel", "pointerleave"]) v.addEventListener(ev, () => this.up());
    $("ip-brush").addEventListener("input", () => { $("ip-brush-out").value = $("ip-brush").value; });
    $("ip-paint").addEventListener("click", () => this.setErasing(false));
    $("ip-erase").addEventListener("click", () => this.setErasing(true));
    $("ip-undo").addEventListener("click", () => this.undo());
    $("ip-clear").addEventListener("click", () => this.clear());
    document.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "z" && !$("panel-inpaint").hidden) { e.preventDefault(); this.undo(); }
    });
  }

  get loaded() { return this.image.width > 0; }

  setImage(img) {
    drawFitted(this.image, img, Number($("ip-maxside").value));
    this.mask.width = this.image.width; this.mask.height = this.image.height;
    this.view.width = this.image.width; this.view.height = this.image.height;
    // small photos are shown enlarged (up to 4×) so that they can be painted precisely
    const w = this.image.width, h = this.image.height;
    const room = Math.max(200, this.wrap.clientWidth - 8);
    const s = Math.min(4, Math.max(1, Math.min(room / w, 560 / h)));
    this.view.style.width = `${Math.round(w * s)}px`;
    this.undoStack = [];
    this.wrap.classList.add("has-image");
    this.render();
  }

  setErasing(on) {
    this.erasing = on;
    $("ip-paint").setAttribute("aria-pressed", String(!on));
    $("ip-erase").setAttribute("aria-pressed", String(on));
  }

  render() {
    const ctx = this.view.getContext("2d");
    ctx.clearRect(0, 0, this.view.width, this.view.height);
    ctx.globalAlpha = 1;
    ctx.drawImage(this.image, 0, 0);
    ctx.globalAlpha = 0.55;
    ctx.drawImage(this.mask, 0, 0);
    ctx.globalAlpha = 1;
  }

  point(e) {
    const r = this.view.getBoundingClientRect();
    return [(e.clientX - r.left) * this.view.width / r.width, (e.clientY - r.top) * this.view.height / r.height];
  }

  pushUndo() {
    const ctx = this.mask.getContext("2d", { willReadFrequently: true });
    this.undoStack.push(ctx.getImageData(0, 0, this.mask.width, this.mask.height));
    if (this.undoStack.length > 40) this.undoStack.shift();
  }

  stroke(from, to) {
    const ctx = this.mask.getContext("2d");
    ctx.save();
    ctx.globalCompositeOperation = this.erasing ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = "rgb(255, 0, 60)";
    ctx.lineWidth = Number($("ip-brush").value);
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
    ctx.restore();
    this.render();
  }

  down(e) {
    if (!this.loaded || e.button !== 0) return;
    this.view.setPointerCapture && this.view.setPointerCapture(e.pointerId);
    this.pushUndo();
    this.drawing = true;
    this.last = this.point(e);
    this.stroke(this.last, this.last);
  }

  move(e) {
    if (!this.drawing) return;
    const p = this.point(e);
    this.stroke(this.last, p);
    this.last = p;
  }

  up() { this.drawing = false; this.last = null; }

  undo() {
    const data = this.undoStack.pop();
    if (data) { this.mask.getContext("2d").putImageData(data, 0, 0); this.render(); }
  }

  clear() {
    if (!this.loaded) return;
    this.pushUndo();
    this.mask.getContext("2d").clearRect(0, 0, this.mask.width, this.mask.height);
    this.render();
  }

  // a mask file: any nonzero colour is the hole (as the CLI reads masks), resized to the photo
  async loadMaskFile(file) {
    const img = await loadImageFromBlob(file);
    const tmp = document.createElement("canvas");
    tmp.width = this.mask.width; tmp.height = this.mask.height;
    const tctx = tmp.getContext("2d");
    tctx.imageSmoothingEnabled = false;
    tctx.drawImage(img, 0, 0, tmp.width, tmp.height);
    const src = tctx.getImageData(0, 0, tmp.width, tmp.height);
    this.pushUndo();
    const ctx = this.mask.getContext("2d");
    const out = ctx.createImageData(tmp.width, tmp.height);
    for (let i = 0; i < src.data.length; i += 4) {
      const hole = src.data[i + 3] > 0 && (src.data[i] || src.data[i + 1] || src.data[i + 2]);
      if (hole) { out.data[i] = 255; out.data[i + 1] = 0; out.data[i + 2] = 60; out.data[i + 3] = 255; }
    }
    ctx.putImageData(out, 0, 0);
    this.render();
  }

  // the mask as sent to the server: white where the stroke covers at least half a pixel
  maskCanvas() {
    const c = document.createElement("canvas");
    c.width = this.mask.width; c.height = this.mask.height;
    const src = this.mask.getContext("2d").getImageData(0, 0, c.width, c.height);
    const ctx = c.getContext("2d");
    const out = ctx.createImageData(c.width, c.height);
    let painted = 0;
    for (let i = 0; i < src.data.length; i += 4) {
      const v = src.data[i + 3] >= 128 ? 255 : 0;
      painted += v ? 1 : 0;
      out.data[i] = out.data[i + 1] = out.data[i + 2] = v; out.data[i + 3] = 255;
    }
    ctx.putImageData(out, 0, 0);
    c.painted = painted;
    return c;
  }
}

function setupDrop(zone, onFile) {
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragover"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragover"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragover");
    const f = e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) onFile(f);
  });
}

function fillSamples(select, names) {
  for (const n of names) select.append(el("option", { value: n, text: n }));
}

// ------------------------------------------------------------------ Style tab: two pickers

class Picker {
  constructor(prefix, maxSide) {
    this.canvas = $(`${prefix}-canvas`);
    this.wrap = $(`${prefix}-drop`);
    this.maxSide = maxSide;
    this.errorBox = $("st-error");
    $(`${prefix}-file`).addEventListener("change", (e) => e.target.files[0] && this.fromFile(e.target.files[0]));
    $(`${prefix}-sample`).addEventListener("change", (e) => e.target.value && this.fromSample(e.target.value));
    setupDrop(this.wrap, (f) => this.fromFile(f));
  }
  get loaded() { return this.canvas.width > 0; }
  set(img) {
    drawFitted(this.canvas, img, Number(this.maxSide.value));
    const w = this.canvas.width, h = this.canvas.height;   // small images are shown enlarged
    const s = Math.min(4, Math.max(1, Math.min((this.wrap.clientWidth - 8) / w, 240 / h)));
    this.canvas.style.width = `${Math.round(w * s)}px`;
    this.wrap.classList.add("has-image");
  }
  async fromFile(f) {
    try { showError(this.errorBox, ""); this.set(await loadImageFromBlob(f)); } catch (err) { showError(this.errorBox, err.message); }
  }
  async fromSample(name) {
    try {
      showError(this.errorBox, "");
      const side = Number(this.maxSide.value) || 512;
      this.set(await fetchSample(name, Math.min(Math.max(side, 32), 1024)));
    } catch (err) { showError(this.errorBox, err.message); }
  }
}

// ------------------------------------------------------------------ start-up

function setupTabs() {
  const tabs = document.querySelectorAll("[role=tab]");
  for (const t of tabs) {
    t.addEventListener("click", () => {
      for (const u of tabs) {
        const on = u === t;
        u.setAttribute("aria-selected", String(on));
        $(u.getAttribute("aria-controls")).hidden = !on;
      }
    });
  }
}

async function main() {
  setupTabs();
  const painter = new Painter();
  const ipError = $("ip-error");

  const loadPhoto = async (getImage) => {
    try { showError(ipError, ""); painter.setImage(await getImage()); } catch (err) { showError(ipError, err.message); }
  };
  $("ip-file").addEventListener("change", (e) => e.target.files[0] && loadPhoto(() => loadImageFromBlob(e.target.files[0])));
  setupDrop($("ip-drop"), (f) => loadPhoto(() => loadImageFromBlob(f)));
  $("ip-sample").addEventListener("change", (e) => {
    const name = e.target.value;
    const side = Number($("ip-maxside").value) || 512;
    if (name) loadPhoto(() => fetchSample(name, Math.min(Math.max(side, 32), 1024)));
  });
  $("ip-maskfile").addEventListener("change", async (e) => {
    if (!e.target.files[0]) return;
    if (!painter.loaded) { showError(ipError, "open a photo before its mask"); return; }
    try { showError(ipError, ""); await painter.loadMaskFile(e.target.files[0]); } catch (err) { showError(ipError, err.message); }
    e.target.value = "";
  });

  const inpaint = new Runner("ip", "inpaint", ["telea", "criminisi"],
    () => [inputCard("Input and mask", painter.image, painter.mask)],
    async () => {
      if (!painter.loaded) throw new Error("open a photo first (or pick a sample photo)");
      const mask = painter.maskCanvas();
      if (!mask.painted) throw new Error("paint over the area to fill first (brush), or upload a mask");
      const form = new FormData();
      form.append("image", await canvasBlob(painter.image), "image.png");
      form.append("mask", await canvasBlob(mask), "mask.png");
      return form;
    });

  const content = new Picker("st-content", $("st-maxside"));
  const style = new Picker("st-style", $("st-maxside"));
  const stylize = new Runner("st", "stylize", ["analogy"],
    () => [inputCard("Content", content.canvas), inputCard("Style", style.canvas)],
    async () => {
      if (!content.loaded) throw new Error("choose a content image first");
      if (!style.loaded) throw new Error("choose a style image first");
      const form = new FormData();
      form.append("content", await canvasBlob(content.canvas), "content.png");
      form.append("style", await canvasBlob(style.canvas), "style.png");
      return form;
    });

  try {
    const [meta, samples] = await Promise.all([inpaint.loadMethods(), api("/api/samples"), stylize.loadMethods()]);
    $("version").textContent = `imgkit ${meta.version}`;
    fillSamples($("ip-sample"), samples.photos);
    fillSamples($("st-content-sample"), samples.photos);
    fillSamples($("st-style-sample"), samples.textures.concat(samples.photos));
  } catch (err) {
    showError(ipError, err.message);
  }
  window.imgkitApp = { painter, inpaint, stylize, content, style };
  document.body.dataset.ready = "1";
}

main();
