// digitnet drawing page: strokes -> a 280x280 ink canvas -> POST /api/read -> the number read,
// each digit as a tile, and for the chosen digit its bars, its 28x28 and the hidden layer.
// Strokes are kept as point lists in [0, 1] so Undo can redraw and any screen size works.
"use strict";

const SEND_SIDE = 280;          // the canvas the server gets (it crops and fits to 20x20 itself)
const LINE_WIDTH = 1 / 12;      // of the canvas side: MNIST-like strokes once reduced to 28x28
const THROTTLE_MS = 150;        // at most one prediction per 150 ms while drawing

const pad = document.getElementById("pad");
const padContext = pad.getContext("2d");
const hint = document.getElementById("pad-hint");
const resultCard = document.querySelector(".card.result");
const digitOutput = document.getElementById("digit");
const confidence = document.getElementById("confidence");
const digitStrip = document.getElementById("digits");
const bars = Array.from(document.querySelectorAll("#bars li"));
const seen = document.getElementById("seen");
const hiddenCanvas = document.getElementById("hidden");
const hiddenFigure = document.getElementById("hidden-figure");
const hiddenCount = document.getElementById("hidden-count");
const statusLine = document.getElementById("status");
const undoButton = document.getElementById("undo");
const clearButton = document.getElementById("clear");
const uploadInput = document.getElementById("upload");
const sendCanvas = document.createElement("canvas");
sendCanvas.width = sendCanvas.height = SEND_SIDE;
const sendContext = sendCanvas.getContext("2d", { willReadFrequently: true });

let strokes = [];               // [[{x, y}, ...], ...] in [0, 1]
let activeStroke = null;
let activePointer = null;
let uploadedImage = null;       // an uploaded picture shown on the pad instead of strokes
let uploadCount = 0;            // answers to older uploads are dropped
let inFlight = false;           // one drawing request at a time...
let again = false;              // ...and one more when the drawing changed meanwhile
let timer = null;
let uploadsInFlight = 0;
let shownDigits = [];           // the digits of the answer shown, and which one is chosen
let chosen = 0;

// ---- drawing -------------------------------------------------------------------------------

function paintStrokes(context, side) {
  context.fillStyle = "#000";
  context.fillRect(0, 0, side, side);
  context.strokeStyle = context.fillStyle = "#fff";
  context.lineWidth = side * LINE_WIDTH;
  context.lineCap = context.lineJoin = "round";
  for (const points of strokes) {
    const scaled = points.map((p) => ({ x: p.x * side, y: p.y * side }));
    if (scaled.length === 1) {
      context.beginPath();
      context.arc(scaled[0].x, scaled[0].y, context.lineWidth / 2, 0, 2 * Math.PI);
      context.fill();
      continue;
    }
    context.beginPath();
    context.moveTo(scaled[0].x, scaled[0].y);
    for (let i = 1; i < scaled.length - 1; i++) {  // quadratic curves through the midpoints
      const mid = { x: (scaled[i].x + scaled[i + 1].x) / 2, y: (scaled[i].y + scaled[i + 1].y) / 2 };
      context.quadraticCurveTo(scaled[i].x, scaled[i].y, mid.x, mid.y);
    }
    const last = scaled[scaled.length - 1];
    context.lineTo(last.x, last.y);
    context.stroke();
  }
}

function paintUpload(context, side) {
  context.fillStyle = "#000";
  context.fillRect(0, 0, side, side);
  const scale = Math.min(side / uploadedImage.width, side / uploadedImage.height);
  const width = uploadedImage.width * scale, height = uploadedImage.height * scale;
  context.drawImage(uploadedImage, (side - width) / 2, (side - height) / 2, width, height);
}

function redraw() {
  if (uploadedImage) paintUpload(padContext, pad.width);
  else paintStrokes(padContext, pad.width);
  hint.hidden = strokes.length > 0 || uploadedImage !== null;
  undoButton.disabled = strokes.length === 0 && uploadedImage === null;
  clearButton.disabled = undoButton.disabled;
}

function fitPadToScreen() {
  const side = Math.max(1, Math.round(pad.getBoundingClientRect().width * (window.devicePixelRatio || 1)));
  if (pad.width !== side) {
    pad.width = pad.height = side;
    redraw();
  }
}

function pointAt(event) {
  const rect = pad.getBoundingClientRect();
  const clamp = (value) => Math.min(1, Math.max(0, value));
  return { x: clamp((event.clientX - rect.left) / rect.width), y: clamp((event.clientY - rect.top) / rect.height) };
}

pad.addEventListener("pointerdown", (event) => {
  if (activeStroke !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  if (uploadedImage) forgetUpload();
  activePointer = event.pointerId;
  activeStroke = [pointAt(event)];
  strokes.push(activeStroke);
  redraw();
  predictSoon();
});

pad.addEventListener("pointermove", (event) => {
  if (event.pointerId !== activePointer) return;
  event.preventDefault();
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const each of events.length ? events : [event]) activeStroke.push(pointAt(each));
  redraw();
  predictSoon();
});

function endStroke(event) {
  if (event.pointerId !== activePointer) return;
  activeStroke = activePointer = null;
  predictNow();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
pad.addEventListener("contextmenu", (event) => event.preventDefault());

function undo() {
  if (activeStroke) return;
  if (uploadedImage) forgetUpload();
  else strokes.pop();
  redraw();
  predictNow();
}

function clear() {
  if (activeStroke) return;
  forgetUpload();
  strokes = [];
  redraw();
  predictNow();
}

undoButton.addEventListener("click", undo);
clearButton.addEventListener("click", clear);
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  } else if (event.key === "Escape") {
    clear();
  }
});

// ---- asking the server ---------------------------------------------------------------------

// aria-busy says an answer is still coming, for screen readers (and for the browser tests,
// which wait for the last answer instead of a fixed time)
function markBusy() {
  const busy = timer !== null || inFlight || again || uploadsInFlight > 0;
  resultCard.setAttribute("aria-busy", String(busy));
}

function predictSoon() {
  if (timer === null) timer = setTimeout(() => { timer = null; predict(); }, THROTTLE_MS);
  markBusy();
}

function predictNow() {
  clearTimeout(timer);
  timer = null;
  predict();
}

function inkRows() {
  paintStrokes(sendContext, SEND_SIDE);
  const rgba = sendContext.getImageData(0, 0, SEND_SIDE, SEND_SIDE).data;
  const rows = new Array(SEND_SIDE);
  for (let y = 0; y < SEND_SIDE; y++) {
    const row = new Array(SEND_SIDE);
    for (let x = 0; x < SEND_SIDE; x++) row[x] = rgba[4 * (y * SEND_SIDE + x)];  // red = ink
    rows[y] = row;
  }
  return rows;
}

async function predict() {
  if (uploadedImage || strokes.length === 0) {
    if (!uploadedImage) showEmpty();
    markBusy();
    return;
  }
  if (inFlight) {
    again = true;
    markBusy();
    return;
  }
  inFlight = true;
  again = false;
  markBusy();
  try {
    const response = await fetch("/api/read", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ pixels: inkRows(), scale: 255, ink: "light" }),
    });
    const answer = await response.json();
    if (strokes.length > 0 && !uploadedImage) show(response, answer);  // else cleared meanwhile
  } catch (error) {
    showError("cannot reach the server: is `digitnet serve` still running?");
  } finally {
    inFlight = false;
    if (again) predict();
    else markBusy();
  }
}

uploadInput.addEventListener("change", async () => {
  const file = uploadInput.files[0];
  uploadInput.value = "";  // choosing the same file again still fires "change"
  if (!file) return;
  const mine = ++uploadCount;
  strokes = [];
  try {
    uploadedImage = await createImageBitmap(file);
  } catch (error) {
    uploadedImage = null;  // not something the browser can show; the server will say why
  }
  redraw();
  statusLine.textContent = `reading ${file.name}\u2026`;
  const form = new FormData();
  form.append("file", file);
  uploadsInFlight++;
  markBusy();
  try {
    const response = await fetch("/api/read", { method: "POST", body: form });
    const answer = await response.json();
    if (mine === uploadCount && strokes.length === 0) show(response, answer, file.name);
  } catch (error) {
    showError("cannot reach the server: is `digitnet serve` still running?");
  } finally {
    uploadsInFlight--;
    markBusy();
  }
});

function forgetUpload() {
  uploadCount++;
  if (uploadedImage && uploadedImage.close) uploadedImage.close();
  uploadedImage = null;
}

// ---- showing the answer --------------------------------------------------------------------

function show(response, answer, fileName) {
  if (!response.ok) {
    const message = String(answer.error || "");
    if (message.includes("no ink found") || message.includes("no digits found")) showEmpty();
    else showError(message || `the server answered ${response.status}`);
    return;
  }
  const sameReading = JSON.stringify(answer.digits) === JSON.stringify(shownDigits);
  shownDigits = answer.digits;
  chosen = Math.min(chosen, shownDigits.length - 1);
  digitOutput.dataset.state = answer.unsure ? "unsure" : "digit";
  digitOutput.textContent = answer.text;
  const sureness = shownDigits.map((d) => d.probabilities[d.digit]);
  const summary = shownDigits.length === 1
    ? `${formatPercent(sureness[0])} sure`
    : `${shownDigits.length} digits, the least sure at ${formatPercent(Math.min(...sureness))}`;
  confidence.textContent = answer.unsure ? `unsure: ${summary}` : summary;
  confidence.classList.toggle("unsure", answer.unsure);
  if (!sameReading) paintStrip();  // a repeated answer keeps the tiles a click may be landing on
  showChosen();
  statusLine.classList.remove("error");
  statusLine.textContent = fileName ? `from ${fileName}` : "";
}

function paintStrip() {
  digitStrip.replaceChildren();
  digitStrip.hidden = shownDigits.length < 2;
  shownDigits.forEach((d, index) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "digit-tile";
    button.dataset.unsure = String(d.unsure);
    const percent = formatPercent(d.probabilities[d.digit]);
    button.setAttribute("aria-label", `digit ${index + 1}: ${d.digit}, ${percent} sure${d.unsure ? ", unsure" : ""}`);
    const picture = document.createElement("canvas");
    picture.width = picture.height = 28;
    paintSeen(d.input28, picture);
    const caption = document.createElement("span");
    caption.textContent = `${d.digit} \u00b7 ${percent}${d.unsure ? " ?" : ""}`;
    button.append(picture, caption);
    button.addEventListener("click", () => { chosen = index; showChosen(); });
    item.append(button);
    digitStrip.append(item);
  });
}

function showChosen() {
  const d = shownDigits[chosen];
  paintBars(d.probabilities, d.digit);
  paintSeen(d.input28);
  paintHidden(d.hidden);
  digitStrip.querySelectorAll(".digit-tile").forEach((tile, index) => {
    tile.setAttribute("aria-pressed", String(index === chosen));
  });
}

function showEmpty() {
  shownDigits = [];
  chosen = 0;
  digitStrip.replaceChildren();
  digitStrip.hidden = true;
  confidence.classList.remove("unsure");
  digitOutput.dataset.state = "empty";
  digitOutput.textContent = "draw a digit";
  confidence.textContent = "\u00a0";
  paintBars(new Array(10).fill(0), -1);
  paintSeen(null);
  paintHidden(null);
  statusLine.classList.remove("error");
  statusLine.textContent = "";
}

function showError(message) {
  showEmpty();
  digitOutput.dataset.state = "error";
  digitOutput.textContent = "?";
  statusLine.classList.add("error");
  statusLine.textContent = message;
}

function formatPercent(value) {
  const percent = 100 * value;
  return percent >= 99.95 ? "100%" : percent < 0.05 ? "0%" : `${percent.toFixed(1)}%`;
}

function paintBars(probabilities, best) {
  bars.forEach((item, digit) => {
    item.querySelector(".fill").style.width = `${(100 * probabilities[digit]).toFixed(1)}%`;
    item.querySelector(".pct").textContent = formatPercent(probabilities[digit]);
    item.classList.toggle("best", digit === best);
    item.setAttribute("aria-label", `${digit}: ${formatPercent(probabilities[digit])}`);
  });
}

function paintSeen(input28, target = seen) {
  const context = target.getContext("2d");
  const image = context.createImageData(28, 28);
  for (let i = 0; i < 28 * 28; i++) {
    const level = input28 ? Math.round(255 * input28[Math.floor(i / 28)][i % 28]) : 0;
    image.data.set([level, level, level, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

let shownHidden = null;  // repainted when the colour scheme changes

function paintHidden(hidden) {
  shownHidden = hidden;
  if (!hidden) {
    const context = hiddenCanvas.getContext("2d");
    context.clearRect(0, 0, hiddenCanvas.width, hiddenCanvas.height);
    return;
  }
  const columns = Math.min(32, hidden.length);
  const rows = Math.ceil(hidden.length / columns);
  const cell = 8, gap = 1;  // canvas pixels; CSS scales the strip to the card's width
  hiddenCanvas.width = columns * (cell + gap) - gap;
  hiddenCanvas.height = rows * (cell + gap) - gap;
  const context = hiddenCanvas.getContext("2d");
  const accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim();
  const track = getComputedStyle(document.documentElement).getPropertyValue("--track").trim();
  const largest = Math.max(1e-6, ...hidden.map(Math.abs));
  hidden.forEach((value, unit) => {
    const x = (unit % columns) * (cell + gap), y = Math.floor(unit / columns) * (cell + gap);
    context.fillStyle = track;
    context.fillRect(x, y, cell, cell);
    context.globalAlpha = Math.abs(value) / largest;
    context.fillStyle = value >= 0 ? accent : "#e0822f";
    context.fillRect(x, y, cell, cell);
    context.globalAlpha = 1;
  });
}

async function showModel() {
  const info = document.getElementById("model-info");
  try {
    const model = await (await fetch("/api/model")).json();
    const sizes = [];
    for (const layer of model.architecture.layers) {
      if (layer.type === "Dense") {
        if (sizes.length === 0) sizes.push(layer.fan_in);
        sizes.push(layer.fan_out);
      }
    }
    const shape = sizes.length ? `${sizes.join("\u2013")} network` : "network";
    const accuracy = model.results && model.results.test_accuracy;
    const parts = [shape, `${model.n_params.toLocaleString("en")} parameters`];
    if (typeof accuracy === "number") parts.push(`${(100 * accuracy).toFixed(1)}% on the MNIST test set`);
    parts.push(`digitnet ${model.digitnet_version}`);
    info.textContent = parts.join(" \u00b7 ");
    hiddenFigure.hidden = !model.hidden_units;
    hiddenCount.textContent = String(model.hidden_units || "\u2013");
  } catch (error) {
    info.textContent = "model information unavailable";
  }
}

new ResizeObserver(fitPadToScreen).observe(pad);
window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => paintHidden(shownHidden));
fitPadToScreen();
redraw();
showEmpty();
showModel();
