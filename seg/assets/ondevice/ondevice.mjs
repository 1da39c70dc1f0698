// "On your device": both SegNets in the visitor's browser (onnxruntime-web, WebAssembly), timed
// there. Files come from this app's origin only (config.json, the vendored runtime, the models);
// the photo and camera frames never leave the page: every request below is a GET for a file.
import { decodePhoto, frame } from "./photo.mjs";
import { argmax, blend, upsampleArgmax } from "./preprocess.mjs";

const $ = (id) => document.getElementById(id);
const OPACITY = 0.5; // the Segment tab's default
const state = { config: null, ort: null, files: new Map(), sessions: new Map(), photo: null,
                token: 0, busy: false, restart: false, camera: null, last: {} };
class Cancelled extends Error {}

function say(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}
const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
const ms = (value) => `${value.toFixed(1)} ms`;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const precision = () => document.querySelector("input[name=precision]:checked").value;
const check = (token) => { if (token !== state.token) throw new Cancelled(); };

async function init() {
  if (typeof WebAssembly !== "object") {
    return say("This browser has no WebAssembly, which ONNX Runtime Web needs: the models cannot run " +
               "here. The app's other tabs work as usual.", true);
  }
  try {
    state.config = await (await fetch("config.json")).json();
  } catch (err) {
    return say(`The page's settings (config.json) failed to load: ${err.message}. Reload to try again.`, true);
  }
  const { runtime } = state.config;
  drawLegend();
  buildCards();
  try {
    state.ort = await import(`./${runtime.path}${runtime.bundle}`);
  } catch (err) {
    return say(`The runtime (${runtime.name} ${runtime.version}) failed to load: ${err.message}. ` +
               "Reload to try again; the other tabs work as usual.", true);
  }
  // The bundle carries its JavaScript glue; only the binary is fetched, from this origin.
  state.ort.env.wasm.wasmPaths = { wasm: new URL(`${runtime.path}${runtime.binary}`, location.href).href };
  // One thread, on a worker (the page stays responsive while a model runs). Threads would need a
  // cross-origin isolated page, which the app's page (framing this one) is not.
  state.ort.env.wasm.numThreads = 1;
  state.ort.env.wasm.proxy = true;
  $("run").disabled = false;
  say("Choose a photo or start the camera, then press Run.");
}

function drawLegend() {
  const { classes, colours } = state.config;
  $("legend").innerHTML = classes.map((name, i) =>
    `<span class="swatch" style="background:rgb(${colours[i].join(",")})"></span>${name}`).join("");
}

function buildCards() {
  const rows = [["file", "File"], ["download", "Downloaded in"], ["session", "Session created in"],
                ["first", "First run"], ["warm", "Warm runs, median"], ["fps", "Camera frames/s"]];
  $("models").innerHTML = state.config.models.map((m) => `
    <section class="model" data-model="${m.name}"><h3 style="color:${m.colour}">${m.title}</h3>
      <canvas width="1" height="1"></canvas>
      <table>${rows.map(([key, label]) => `<tr><td>${label}</td><td data-stat="${key}">–</td></tr>`).join("")}</table>
    </section>`).join("");
}

function card(model) { return document.querySelector(`.model[data-model="${model.name}"]`); }
function show(model, stat, text) { card(model).querySelector(`[data-stat="${stat}"]`).textContent = text; }

// ---- drawing ----------------------------------------------------------------------------------

function paint(model, photo, logits) {
  const { classes, colours, input_size: size } = state.config, { width, height } = photo.display;
  const canvas = card(model).querySelector("canvas");
  const pixels = new ImageData(new Uint8ClampedArray(photo.display.data), width, height);
  blend(pixels.data, upsampleArgmax(logits, classes.length, size, size, width, height), colours, OPACITY);
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(pixels, 0, 0);
}

// ---- model files and sessions -------------------------------------------------------------------

async function fetchOk(url, what) {
  let response;
  try { response = await fetch(url, { cache: "no-cache" }); } catch (err) {
    throw new Error(`${what} failed to download (${err.message}). Check the connection and press Run again.`);
  }
  if (!response.ok) {
    const detail = await response.json().then((body) => body.error, () => response.statusText);
    throw new Error(`${what} failed to download: ${detail || response.status}. Press Run to try again.`);
  }
  return response;
}

async function download(model, prec, token) {
  const stem = `${model.name}-${prec}`, what = `The ${model.title} ${prec} file`;
  say(`Preparing ${model.title} (${prec}) on the server: the first request for a file builds it.`);
  await fetchOk(`models/${stem}.json`, what);
  check(token);
  say(`Downloading ${model.title} (${prec})…`);
  const url = new URL(`models/${stem}.onnx`, location.href).href, began = performance.now();
  const bytes = new Uint8Array(await (await fetchOk(url, what)).arrayBuffer());
  const took = performance.now() - began;
  const entry = performance.getEntriesByName(url).pop(); // bytes on the wire, where the browser says
  const wire = entry && entry.encodedBodySize ? entry.encodedBodySize : bytes.length;
  return { bytes, size: bytes.length, ms: took, wire };
}

async function session(model, prec, token) {
  const key = `${model.name}-${prec}`;
  if (state.sessions.has(key)) return state.sessions.get(key);
  if (!state.files.has(key)) state.files.set(key, await download(model, prec, token));
  check(token);
  const file = state.files.get(key);
  show(model, "file", `${mb(file.size)} ${prec} (${mb(file.wire)} on the wire)`);
  show(model, "download", ms(file.ms));
  say(`Creating the ${model.title} session…`);
  const began = performance.now();
  let created;
  try {
    // The proxy worker takes the bytes (transferred): what the page keeps is their size.
    created = await state.ort.InferenceSession.create(file.bytes, { executionProviders: ["wasm"] });
  } catch (err) {
    state.files.delete(key); // corrupt or cut short: download afresh next time
    throw new Error(`The ${model.title} ${prec} session could not be created (${err.message || err}). ` +
                    "Press Run to try again: the file is downloaded afresh, in case it was corrupt or cut short.");
  }
  const entry = { session: created, ms: performance.now() - began, key };
  show(model, "session", ms(entry.ms));
  state.sessions.set(key, entry);
  return entry;
}

async function infer(entry, input) {
  const size = state.config.input_size, { session: s } = entry;
  // A copy: the proxy worker takes the buffer it is given (transferred), and the input is reused.
  const feeds = { [s.inputNames[0]]: new state.ort.Tensor("float32", input.slice(), [1, 3, size, size]) };
  const began = performance.now();
  const output = await s.run(feeds);
  return { logits: output[s.outputNames[0]].data, ms: performance.now() - began };
}

// ---- runs -------------------------------------------------------------------------------------

function setBusy(busy) {
  state.busy = busy;
  $("run").disabled = busy || !!state.camera;
  $("run").textContent = busy ? "Running…" : "Run both models on this device";
}

async function guarded(job) { // one job at a time; a message, never a hung button
  if (state.busy) return;
  const token = ++state.token;
  setBusy(true);
  try {
    await job(token);
  } catch (err) {
    if (!(err instanceof Cancelled)) say(err.message || String(err), true);
  } finally {
    setBusy(false);
    if (state.restart) {
      state.restart = false;
      state.camera ? guarded(cameraLoop) : guarded(runPhoto);
    }
  }
}

async function runPhoto(token) {
  if (!state.photo) return say("Choose a photo first (or start the camera).", true);
  const prec = precision(), { models } = state.config, photo = state.photo;
  const asked = Number(new URLSearchParams(location.search).get("warm")); // ?warm=N: fewer (tests), more (bench)
  const warmRuns = asked >= 1 && asked <= 1000 ? Math.round(asked) : state.config.warm_runs;
  const entries = [];
  for (const model of models) entries.push(await session(model, prec, token)); // both ready first
  for (const [i, model] of models.entries()) {
    say(`Running ${model.title} (${prec}) on this device…`);
    const first = await infer(entries[i], photo.input);
    check(token);
    paint(model, photo, first.logits); // the mask at once: the timed runs follow (seconds on a phone)
    show(model, "first", ms(first.ms));
    say(`Timing ${model.title} (${prec}): ${warmRuns} more runs on this device…`);
    const times = [];
    for (let r = 0; r < warmRuns; r++) times.push((await infer(entries[i], photo.input)).ms);
    check(token);
    show(model, "warm", `${ms(median(times))} (${warmRuns} runs)`);
    state.last[model.name] = record(model, prec, entries[i], first, median(times));
  }
  report(prec);
  say(`Done: both masks were computed on this device (${prec}). Nothing was uploaded.`);
}

function record(model, prec, entry, first, warm) {
  const size = state.config.input_size, file = state.files.get(entry.key);
  return { precision: prec, bytes: file.size, wire_bytes: file.wire, download_ms: file.ms,
           session_ms: entry.ms, first_ms: first.ms, warm_ms: warm,
           mask: Array.from(argmax(first.logits, state.config.classes.length, size, size)) };
}

function report(prec) {
  const [a, b] = state.config.models.map((m) => state.last[m.name]);
  const [ta, tb] = state.config.models.map((m) => m.title);
  if (a && b && a.precision === prec && b.precision === prec) {
    $("ratios").textContent = `${ta} ÷ ${tb} (${prec}): ${(a.bytes / b.bytes).toFixed(1)}× the bytes, ` +
      `${(a.warm_ms / b.warm_ms).toFixed(1)}× the milliseconds per run on this device.`;
  }
  $("runtime").textContent = `ONNX Runtime Web ${state.config.runtime.version}; execution provider: wasm ` +
    `(WebAssembly SIMD, on a worker); threads: ${state.ort.env.wasm.numThreads}; this device reports ` +
    `${navigator.hardwareConcurrency || "?"} logical CPUs.`;
}

// ---- camera -----------------------------------------------------------------------------------

async function toggleCamera() {
  if (state.camera) return stopCamera("Camera stopped.");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return say("This browser offers no camera to this page (cameras need https or localhost).", true);
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (err) {
    const why = { NotAllowedError: "Camera access was denied: allow it in the browser's site settings",
                  NotFoundError: "No camera was found on this device" }[err.name] || `The camera could not start (${err.message})`;
    return say(`${why}. You can choose a photo instead.`, true);
  }
  const video = $("video");
  video.srcObject = stream;
  await video.play();
  state.camera = { stream, times: {} };
  $("camera").textContent = "Stop camera";
  state.token++; // a photo run in flight stops; the camera takes over
  state.busy ? (state.restart = true) : guarded(cameraLoop);
}

function stopCamera(message) {
  if (!state.camera) return;
  state.camera.stream.getTracks().forEach((track) => track.stop());
  state.camera = null;
  state.token++;
  $("camera").textContent = "Start camera";
  setBusy(state.busy);
  if (message) say(message);
}

async function cameraLoop(token) {
  const prec = precision(), { models } = state.config, entries = [];
  for (const model of models) entries.push(await session(model, prec, token));
  const video = $("video");
  say(`Camera: both models on the same frames, on this device (${prec}). Nothing is uploaded.`);
  while (state.camera && token === state.token) {
    if (video.videoWidth) {
      const photo = frame(video, video.videoWidth, video.videoHeight, state.config.input_size);
      for (const [i, model] of models.entries()) {
        const result = await infer(entries[i], photo.input);
        check(token);
        const times = (state.camera.times[model.name] ||= []);
        times.push(result.ms);
        if (times.length > 10) times.shift();
        paint(model, photo, result.logits);
        show(model, "fps", `${(1000 / median(times)).toFixed(1)} (${ms(median(times))} a frame)`);
      }
    }
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}

// ---- wiring -------------------------------------------------------------------------------------

$("photo").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = ""; // choosing the same file again (after an error, say) reads it again
  if (!file || !state.config) return;
  stopCamera();
  state.photo = null;
  try {
    state.photo = await decodePhoto(file, state.config);
    say(`${file.name}: ${state.photo.width}×${state.photo.height}. Press Run.`);
  } catch (err) {
    say(err.message, true);
  }
});
$("run").addEventListener("click", () => guarded(runPhoto));
$("camera").addEventListener("click", () => toggleCamera().catch((err) => say(err.message, true)));
document.querySelectorAll("input[name=precision]").forEach((input) => input.addEventListener("change", () => {
  if (!state.busy) return;
  state.token++; // the run in flight stops at its next step and starts again with the new files
  state.restart = true;
  say(`Switched to ${precision()}: starting again with the ${precision()} files.`);
}));

window.onDevice = { state, last: state.last, ready: init(),
  // The same session on a given input tensor (tests compare it with ONNX Runtime in Python).
  async runTensor(name, prec, input) {
    const model = state.config.models.find((m) => m.name === name);
    return Array.from((await infer(await session(model, prec, state.token), Float32Array.from(input))).logits);
  } };
