// focuspress gui: the page. No framework, no build step: the server ships this file as is.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: "", files: [], items: [], selected: null, config: {}, daemonTimer: null, lastDaemon: null };

function token() {
  const params = new URLSearchParams(location.search);
  if (params.get("token")) {
    sessionStorage.setItem("focuspress-token", params.get("token"));
    history.replaceState(null, "", location.pathname); // keep the token out of the address bar
  }
  return sessionStorage.getItem("focuspress-token") || "";
}

async function api(path, options = {}) {
  const headers = Object.assign({ "X-Focuspress-Token": state.token }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  let body = {};
  try { body = await response.json(); } catch (e) { body = { error: `HTTP ${response.status}` }; }
  return { ok: response.ok, status: response.status, body };
}

function message(text, isError = false) {
  const el = $("message");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

function kb(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(2)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}

// ---- configuration and the model's readiness -------------------------------------------
async function loadConfig() {
  const { ok, body } = await api("/api/config");
  if (!ok) { message(body.error || "cannot reach the focuspress server", true); return; }
  state.config = body;
  $("limits").textContent = `Up to ${body.max_upload_mb} MB and ${body.max_megapixels} megapixels per photo.`;
  if (body.output) { $("folder").value = body.output; folderStatus(`Saving to ${body.output}`, false); }
  if (body.daemon_url && !$("daemon-url").value) $("daemon-url").value = body.daemon_url;
  $("engine-state").textContent = body.engine_ready ? `model ready (${body.saliency})` : "loading the model…";
  if (!body.engine_ready) setTimeout(loadConfig, 1000);
}

function folderStatus(text, isError) {
  const el = $("folder-status");
  el.textContent = text;
  el.classList.toggle("error", isError);
  el.style.color = isError ? "var(--bad)" : "";
}

// ---- choosing files ----------------------------------------------------------------------
function addFiles(fileList) {
  for (const file of fileList) {
    const item = { file, name: file.name, status: "waiting", id: null, stats: null, error: null, progress: 0 };
    state.items.push(item);
  }
  renderList();
  $("compress").disabled = !state.items.some((i) => i.status === "waiting");
}

function renderList() {
  const list = $("file-list");
  list.innerHTML = "";
  state.items.forEach((item, index) => {
    const li = document.createElement("li");
    li.dataset.name = item.name;
    li.className = item.status + (state.selected === index ? " selected" : "");
    const name = document.createElement("div");
    name.className = "name";
    name.textContent = item.name;
    const status = document.createElement("div");
    status.className = "status";
    if (item.status === "failed") { status.classList.add("error"); status.textContent = item.error; }
    else if (item.status === "done") {
      const s = item.stats;
      status.textContent = `${kb(s.input_bytes)} → ${kb(s.output_bytes)} (${s.ratio.toFixed(1)}x smaller), SSIMULACRA2 ${s.ssimulacra2}`;
    } else if (item.status === "uploading") status.textContent = `uploading ${Math.round(item.progress * 100)}%`;
    else if (item.status === "compressing") status.textContent = "compressing…";
    else status.textContent = "waiting";
    li.append(name, status);
    if (item.status === "uploading" || item.status === "compressing") {
      const bar = document.createElement("progress");
      if (item.status === "uploading") { bar.max = 1; bar.value = item.progress; }
      li.append(bar);
    }
    li.addEventListener("click", () => { if (item.status === "done") select(index); });
    list.append(li);
  });
  const done = state.items.filter((i) => i.status === "done");
  $("download-all").disabled = done.length === 0;
  $("save").disabled = done.length === 0;
  $("download").disabled = state.selected === null;
}

// ---- compressing: one upload at a time, with upload progress --------------------------------
function upload(item) {
  return new Promise((resolve) => {
    const form = new FormData();
    form.append("file", item.file, item.name);
    const size = $("target-size").value.trim();
    if (size) form.append("target_size", size);
    else if ($("mode").value === "quality") form.append("quality", $("quality").value);
    else {
      form.append("subject_ssimulacra2", $("subject").value);
      form.append("photo_ssimulacra2", $("photo").value);
    }
    if ($("roi").dataset.touched) form.append("roi_strength", $("roi").value);  // else the engine's default
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/compress");
    xhr.setRequestHeader("X-Focuspress-Token", state.token);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) { item.progress = e.loaded / e.total; renderList(); } };
    xhr.upload.onload = () => { item.status = "compressing"; renderList(); };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = { error: `HTTP ${xhr.status}` }; }
      if (xhr.status === 200) { item.status = "done"; item.id = body.id; item.stats = body; }
      else { item.status = "failed"; item.error = body.error || `HTTP ${xhr.status}`; }
      resolve();
    };
    xhr.onerror = () => { item.status = "failed"; item.error = "the focuspress server did not answer"; resolve(); };
    item.status = "uploading";
    renderList();
    xhr.send(form);
  });
}

async function compressAll() {
  $("compress").disabled = true;
  message("");
  const todo = state.items.filter((i) => i.status === "waiting");
  for (const item of todo) {
    await upload(item);
    renderList();
    if (item.status === "done" && (state.selected === null || state.items[state.selected].status !== "done")) {
      select(state.items.indexOf(item));
    }
  }
  const failed = todo.filter((i) => i.status === "failed").length;
  const done = todo.length - failed;
  message(failed ? `${done} compressed, ${failed} could not be used (see the list)` : `${done} compressed`, failed > 0);
  $("compress").disabled = !state.items.some((i) => i.status === "waiting");
}

// ---- the result view -----------------------------------------------------------------------
function resultUrl(item, part) {
  return `/api/result/${item.id}/${part}?token=${encodeURIComponent(state.token)}`;
}

function select(index) {
  state.selected = index;
  const item = state.items[index];
  $("stage").classList.remove("empty");
  $("img-before").src = resultUrl(item, "original.png");
  $("img-after").src = resultUrl(item, "compressed.jpg");
  $("img-map").src = resultUrl(item, "map.png");
  const s = item.stats;
  const rows = [
    ["File", s.name], ["Dimensions", `${s.width} × ${s.height}`], ["Original", kb(s.input_bytes)],
    ["focuspress JPEG", kb(s.output_bytes)], ["Ratio", `${s.ratio.toFixed(2)}x smaller`], ["Bits per pixel", s.bpp],
    ["JPEG quality used", s.quality], ["Outcome", s.outcome], ["PSNR", `${s.psnr} dB`], ["SSIMULACRA2", s.ssimulacra2],
  ];
  if (s.subject_ssimulacra2 !== undefined) rows.push(["Subject SSIMULACRA2 (contract)", `${s.subject_ssimulacra2} (${s.scores})`]);
  if (s.photo_ssimulacra2 !== undefined) rows.push(["Photo SSIMULACRA2 (contract)", `${s.photo_ssimulacra2} (${s.scores})`]);
  rows.push(["Time", `${s.seconds} s`]);
  if (s.notes && s.notes.length) rows.push(["Notes", s.notes.join("; ")]);
  const table = $("stats");
  table.innerHTML = "";
  for (const [k, v] of rows) {
    const tr = document.createElement("tr");
    const th = document.createElement("th"); th.textContent = k;
    const td = document.createElement("td"); td.textContent = v; td.dataset.key = k;
    tr.append(th, td);
    table.append(tr);
  }
  applySplit();
  renderList();
}

function applySplit() {
  const pct = Number($("split").value);
  $("img-after").style.clipPath = `inset(0 0 0 ${pct}%)`;
  $("divider").style.left = `${pct}%`;
}

function applyOverlay() {
  const map = $("img-map");
  map.hidden = !$("overlay-toggle").checked;
  map.style.opacity = $("overlay-opacity").value;
}

function setZoom(oneToOne) {
  const stage = $("stage");
  stage.classList.toggle("one", oneToOne);
  stage.classList.toggle("fit", !oneToOne);
  $("zoom-1").classList.toggle("active", oneToOne);
  $("zoom-fit").classList.toggle("active", !oneToOne);
}

function enablePanning() {
  const stage = $("stage");
  let start = null;
  stage.addEventListener("pointerdown", (e) => {
    if (stage.classList.contains("one")) {
      start = { x: e.clientX, y: e.clientY, left: stage.scrollLeft, top: stage.scrollTop };
      stage.classList.add("panning");
      stage.setPointerCapture(e.pointerId);
    } else if (!stage.classList.contains("empty")) {
      moveSplitTo(e); // at fit, a click or drag moves the split
      start = { split: true };
      stage.setPointerCapture(e.pointerId);
    }
  });
  stage.addEventListener("pointermove", (e) => {
    if (!start) return;
    if (start.split) { moveSplitTo(e); return; }
    stage.scrollLeft = start.left - (e.clientX - start.x);
    stage.scrollTop = start.top - (e.clientY - start.y);
  });
  const end = () => { start = null; stage.classList.remove("panning"); };
  stage.addEventListener("pointerup", end);
  stage.addEventListener("pointercancel", end);
}

function moveSplitTo(e) {
  const rect = $("layers").getBoundingClientRect();
  const pct = Math.max(0, Math.min(100, ((e.clientX - rect.left) / rect.width) * 100));
  $("split").value = pct.toFixed(0);
  applySplit();
}

// ---- saving and downloading ----------------------------------------------------------------
async function useFolder() {
  const { ok, body } = await api("/api/folder", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ path: $("folder").value }),
  });
  if (ok) { $("folder").value = body.output; folderStatus(`Saving to ${body.output}`, false); }
  else folderStatus(body.error, true);
  return ok;
}

async function save() {
  const ids = state.items.filter((i) => i.status === "done").map((i) => i.id);
  if (!ids.length) return;
  message("Saving…"); // never leave an earlier "Saved" standing while this save runs
  let onConflict = "ask";
  for (;;) {
    const { ok, status, body } = await api("/api/save", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ids, on_conflict: onConflict }),
    });
    if (ok) {
      message(`Saved ${body.saved.length} file${body.saved.length === 1 ? "" : "s"} to ${body.folder}`);
      return;
    }
    if (status === 409 && body.conflicts) {
      const replace = confirm(`${body.conflicts.length} file(s) exist already:\n${body.conflicts.join("\n")}\n\nOK: replace them. Cancel: keep them and save with new names.`);
      onConflict = replace ? "overwrite" : "rename";
      continue;
    }
    message(body.error || "could not save", true);
    return;
  }
}

function download() {
  if (state.selected === null) return;
  location.href = `/api/download/${state.items[state.selected].id}?token=${encodeURIComponent(state.token)}`;
}

function downloadAll() {
  const ids = state.items.filter((i) => i.status === "done").map((i) => i.id).join(",");
  location.href = `/api/download.zip?ids=${ids}&token=${encodeURIComponent(state.token)}`;
}

// ---- the daemon view -------------------------------------------------------------------------
function showTab(name) {
  const daemon = name === "daemon";
  $("panel-daemon").hidden = !daemon;
  $("panel-compress").hidden = daemon;
  $("tab-daemon").classList.toggle("active", daemon);
  $("tab-compress").classList.toggle("active", !daemon);
  $("tab-daemon").setAttribute("aria-selected", String(daemon));
  $("tab-compress").setAttribute("aria-selected", String(!daemon));
  if (daemon && $("daemon-url").value && !state.daemonTimer) watchDaemon();
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.append(td);
}

function tableRows(table, head, rows) {
  table.innerHTML = "";
  const tr = document.createElement("tr");
  for (const h of head) { const th = document.createElement("th"); th.textContent = h; tr.append(th); }
  table.append(tr);
  for (const row of rows) table.append(row);
}

async function pollDaemon() {
  const url = $("daemon-url").value.trim();
  const { ok, body } = await api(`/api/daemon?url=${encodeURIComponent(url)}`);
  if (!ok) { $("daemon-status").textContent = body.error; return; }
  let rate = "";
  if (state.lastDaemon && state.lastDaemon.url === body.url) {
    const dt = body.fetched_at - state.lastDaemon.fetched_at;
    if (dt > 0) rate = ` · ${((body.processed_total - state.lastDaemon.processed_total) / dt).toFixed(2)} images/s`;
  }
  state.lastDaemon = body;
  $("daemon-status").textContent = `${body.url}: ${body.state}, ${body.executor} executor · ${body.processed_total} processed, ${body.quarantined_total} quarantined${rate}`;
  const cards = $("daemon-inboxes");
  cards.innerHTML = "";
  for (const inbox of body.inboxes || []) {
    const card = document.createElement("div");
    card.className = "card";
    card.dataset.inbox = inbox.name;
    const h = document.createElement("h3"); h.textContent = inbox.name;
    const p = document.createElement("div"); p.className = "muted small"; p.textContent = `${inbox.path} → ${inbox.outbox}`;
    const counts = document.createElement("div");
    const s = inbox.states || {};
    counts.className = "counts";
    counts.textContent = ["pending", "processing", "done", "quarantined"].map((k) => `${k} ${s[k] || 0}`).join(" · ");
    card.append(h, p, counts);
    if (inbox.paused) { const w = document.createElement("div"); w.className = "paused"; w.textContent = "paused: outbox not writable"; card.append(w); }
    cards.append(card);
  }
  const recent = (body.recent || []).filter((r) => ["recompressed", "lossless", "kept"].includes(r.outcome)).slice(0, 20).map((r) => {
    const tr = document.createElement("tr");
    cell(tr, r.file); cell(tr, r.inbox); cell(tr, kb(r.bytes_in)); cell(tr, kb(r.bytes_out));
    cell(tr, r.bytes_in ? `${(100 * (1 - r.bytes_out / r.bytes_in)).toFixed(0)}%` : "-");
    cell(tr, new Date(r.at * 1000).toLocaleTimeString());
    return tr;
  });
  tableRows($("daemon-recent"), ["file", "inbox", "in", "out", "saving", "at"], recent);
  const bad = (body.recent || []).filter((r) => r.outcome === "quarantined").slice(0, 50).map((r) => {
    const tr = document.createElement("tr");
    cell(tr, r.file); cell(tr, r.inbox); cell(tr, r.error || r.reason || "", "bad");
    return tr;
  });
  tableRows($("daemon-quarantined"), ["file", "inbox", "reason"], bad);
}

function watchDaemon() {
  if (state.daemonTimer) clearInterval(state.daemonTimer);
  state.lastDaemon = null;
  pollDaemon();
  state.daemonTimer = setInterval(pollDaemon, 2000);
}

// ---- quitting ----------------------------------------------------------------------------------
async function quit() {
  if (state.daemonTimer) clearInterval(state.daemonTimer);
  await api("/api/quit", { method: "POST" });
  $("stopped").hidden = false;
}

// ---- wiring --------------------------------------------------------------------------------------
function init() {
  state.token = token();
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles(e.dataTransfer.files); });
  $("files-input").addEventListener("change", (e) => { addFiles(e.target.files); e.target.value = ""; });
  $("quality").addEventListener("input", () => { $("quality-value").textContent = $("quality").value; });
  $("mode").addEventListener("change", () => {
    const fixed = $("mode").value === "quality";
    document.querySelectorAll("label.fixed").forEach((el) => { el.hidden = !fixed; });
    document.querySelectorAll("label.contract").forEach((el) => { el.hidden = fixed; });
  });
  $("roi").addEventListener("input", () => {
    $("roi").dataset.touched = "1";
    $("roi-value").textContent = Number($("roi").value).toFixed(2);
  });
  $("compress").addEventListener("click", compressAll);
  $("folder-use").addEventListener("click", useFolder);
  $("folder").addEventListener("keydown", (e) => { if (e.key === "Enter") useFolder(); });
  $("save").addEventListener("click", save);
  $("download").addEventListener("click", download);
  $("download-all").addEventListener("click", downloadAll);
  $("split").addEventListener("input", applySplit);
  $("overlay-toggle").addEventListener("change", applyOverlay);
  $("overlay-opacity").addEventListener("input", applyOverlay);
  $("zoom-fit").addEventListener("click", () => setZoom(false));
  $("zoom-1").addEventListener("click", () => setZoom(true));
  $("tab-compress").addEventListener("click", () => showTab("compress"));
  $("tab-daemon").addEventListener("click", () => showTab("daemon"));
  $("daemon-connect").addEventListener("click", watchDaemon);
  $("quit").addEventListener("click", quit);
  enablePanning();
  applySplit();
  applyOverlay();
  loadConfig();
}

document.addEventListener("DOMContentLoaded", init);
