// The operator page of `vireid serve`: plain DOM and fetch, no framework, no build step.
// The API does the searching; this file only turns the form into requests and answers into tiles.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { file: null, query: null, cursor: null, shown: 0, cameras: { visible: [], infrared: [] }, info: null };

function showError(text) {
  const line = $("error");
  line.textContent = text || "";
  line.hidden = !text;
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const type = response.headers.get("content-type") || "";
  const body = type.includes("application/json") ? await response.json() : null;
  if (!response.ok) {
    const error = new Error((body && body.error) || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

async function start() {
  try {
    state.info = await api("/api/v1/info");
  } catch (error) {
    if (error.status === 401) {
      $("login").hidden = false;
      $("app").hidden = true;
      $("token").focus();
      return;
    }
    showError(error.message);
    return;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  $("zone").textContent = state.info.timezone;
  const parts = state.info.partitions.map((p) => `${p.crops} ${p.modality} (${p.index})`).join(", ");
  $("status").textContent = `${state.info.crops} crops: ${parts || "none yet"}.`;
  state.cameras = await api("/api/v1/cameras");
  renderCameras();
}

async function login(event) {
  event.preventDefault();
  const data = new FormData();
  data.append("token", $("token").value);
  try {
    await api("/api/v1/session", { method: "POST", body: data });
  } catch (error) {
    showError(error.message);
    $("token").focus();
    return;
  }
  $("token").value = "";
  showError("");
  await start();
}

function searched() {
  const modality = $("modality").value;
  if ($("same-modality").checked) return modality;
  return modality === "infrared" ? "visible" : "infrared";
}

function renderCameras() {
  const box = $("cameras");
  const ticked = new Set([...box.querySelectorAll("input:checked")].map((input) => input.value));
  box.replaceChildren();
  const cameras = state.cameras[searched()] || [];
  if (!cameras.length) {
    box.textContent = `No ${searched()} crops yet.`;
    return;
  }
  for (const camera of cameras) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.name = "cameras";
    input.value = camera;
    input.checked = ticked.has(camera);
    label.append(input, ` ${camera}`);
    box.append(label);
  }
  const note = document.createElement("span");
  note.className = "muted";
  note.textContent = "(none ticked: every camera)";
  box.append(note);
}

function chooseFile(file) {
  if (!file) return;
  state.file = file;
  state.query = { kind: "image" };
  const preview = $("query-preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.alt = `Query crop ${file.name}`;
  preview.hidden = false;
  $("query-note").textContent = `${file.name}, searched as ${$("modality").value}`;
}

function requestBody() {
  const data = new FormData();
  if (state.query && state.query.kind === "crop") {
    data.append("crop_id", state.query.cropId);
  } else {
    if (!state.file) throw new Error("choose or drop a query crop first");
    data.append("image", state.file);
    data.append("modality", $("modality").value);
  }
  if ($("same-modality").checked) data.append("same_modality", "true");
  for (const input of $("cameras").querySelectorAll("input:checked")) data.append("cameras", input.value);
  if ($("since").value) data.append("since", $("since").value);
  if ($("until").value) data.append("until", $("until").value);
  const from = $("hours-from").value;
  const to = $("hours-to").value;
  if (from || to) {
    if (!(from && to)) throw new Error("give both ends of the hour window, or neither");
    data.append("hours", `${from}-${to}`);
  }
  data.append("k", $("k").value || "12");
  if ($("min-score").value) data.append("min_score", $("min-score").value);
  if ($("one-per-track").checked) data.append("group_by", "track");
  if (state.cursor) data.append("cursor", state.cursor);
  return data;
}

async function search(nextPage) {
  if (!nextPage) {
    state.cursor = null;
    state.shown = 0;
  }
  let answer;
  try {
    answer = await api("/api/v1/search", { method: "POST", body: requestBody() });
  } catch (error) {
    showError(error.message);
    return;
  }
  showError("");
  if (!nextPage) $("results").replaceChildren();
  const first = state.shown;
  const tiles = answer.matches.map((match, i) => tile(match, first + i + 1));
  $("results").append(...tiles);
  state.shown += answer.matches.length;
  state.cursor = answer.next_cursor;
  $("more").hidden = !state.cursor;
  const query = answer.query.crop_id !== null ? `crop #${answer.query.crop_id}` : "the uploaded crop";
  $("summary").textContent =
    `${state.shown} shown of ${answer.allowed} ${answer.query.searched} crops the filters allow, for ${query} ` +
    `(${answer.query.modality}); index ${answer.index.description}; ${answer.took_ms.toFixed(1)} ms.`;
  if (nextPage && tiles.length) tiles[0].querySelector("button").focus();
}

function tile(match, rank) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "tile";
  button.dataset.cropId = match.crop_id;
  button.dataset.camera = match.camera;
  const when = match.time ? match.time.replace("T", " ").slice(0, 19) : "time unknown";
  const track = match.track === null ? "no track" : `track ${match.track}`;
  const image = document.createElement("img");
  image.src = match.image_url;
  image.loading = "lazy";
  image.alt = `Rank ${rank}: ${match.modality} crop #${match.crop_id} from ${match.camera || "unknown camera"}, ${when}, score ${match.score.toFixed(3)}`;
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = `#${rank} · ${match.score.toFixed(3)}`;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = `${match.camera || "?"} · ${when} · ${track}`;
  button.title = "Search with this crop";
  button.append(image, score, meta);
  button.addEventListener("click", () => requery(match));
  item.append(button);
  return item;
}

function requery(match) {
  state.query = { kind: "crop", cropId: match.crop_id };
  $("modality").value = match.modality;
  $("same-modality").checked = true;
  $("query-preview").src = match.image_url;
  $("query-preview").alt = `Query: ${match.modality} crop #${match.crop_id}`;
  $("query-preview").hidden = false;
  $("query-note").textContent = `crop #${match.crop_id} (${match.modality}), searching ${match.modality}`;
  renderCameras();
  search(false);
}

function wire() {
  $("login-form").addEventListener("submit", login);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search(false);
  });
  $("more").addEventListener("click", () => search(true));
  $("image").addEventListener("change", (event) => chooseFile(event.target.files[0]));
  $("modality").addEventListener("change", renderCameras);
  $("same-modality").addEventListener("change", renderCameras);
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    chooseFile(event.dataTransfer.files[0]);
  });
}

wire();
start();
