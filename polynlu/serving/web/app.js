// The assistant's page: push-to-talk (MediaRecorder) or a typed request → POST /v1/assistant;
// the transcript with its slots highlighted, the meaning, the reply (text and speech), and the
// skills' state from GET /v1/assistant/state.
"use strict";

const $ = (id) => document.getElementById(id);
let recorder = null;
let chunks = [];

function setStatus(text) { $("status").textContent = text; }

function highlighted(text, slots) {
  // The slots are character spans of `text`: rebuild it with each one marked.
  const fragment = document.createDocumentFragment();
  let at = 0;
  for (const slot of [...slots].sort((a, b) => a.start - b.start)) {
    fragment.append(text.slice(at, slot.start));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(slot.start, slot.end);
    mark.title = slot.resolved ? `${slot.slot} = ${slot.resolved}` : slot.slot;
    mark.dataset.slot = slot.slot;
    const label = document.createElement("sub");
    label.textContent = slot.resolved ? `${slot.slot} = ${slot.resolved}` : slot.slot;
    mark.append(label);
    fragment.append(mark);
    at = slot.end;
  }
  fragment.append(text.slice(at));
  return fragment;
}

function show(answer) {
  const meaning = answer.interpretation;
  $("transcript").replaceChildren(highlighted(meaning.text, meaning.slots));
  $("intent").textContent = meaning.intent || "(nothing understood)";
  $("confidence").textContent = `${(meaning.confidence * 100).toFixed(0)}%`;
  $("locale").textContent = answer.locale || "";
  $("reply").textContent = answer.reply_text + (answer.reply_fallback ? " (in English: no replies in this language yet)" : "");
  if (answer.reply_audio) {
    $("reply-audio").src = `data:audio/wav;base64,${answer.reply_audio}`;
    $("reply-audio").play().catch(() => {});  // autoplay may be refused; the controls stay
  } else {
    $("reply-audio").removeAttribute("src");
  }
  $("silent").textContent = answer.reply_silent ? `Not spoken: ${answer.reply_silent}` : "";
  $("timings").textContent = Object.entries(answer.timings_ms).map(([k, v]) => `${k} ${v} ms`).join(" · ");
  document.body.dataset.turns = String(Number(document.body.dataset.turns || 0) + 1);
}

function list(id, items) {
  $(id).replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    if (item instanceof Node) li.append(item); else li.textContent = item;
    return li;
  }));
}

async function refreshState() {
  const response = await fetch("/v1/assistant/state");
  if (!response.ok) return;
  const state = await response.json();
  list("alarms", state.alarms.map((a) => `${a.kind} ${a.at.replace("T", " ")}${a.label ? " — " + a.label : ""}`));
  list("lists", Object.entries(state.lists).map(([name, items]) => `${name}: ${items.join(", ") || "(empty)"}`));
  list("lights", state.lights.map((l) => {
    const span = document.createElement("span");
    span.textContent = `${l.room}: ${l.is_on ? `on, ${l.brightness}%, ${l.colour}` : "off"}`;
    if (l.is_on) span.className = "on";
    return span;
  }));
}

async function ask(body) {
  setStatus("Thinking…");
  const response = await fetch("/v1/assistant", { method: "POST", ...body });
  const answer = await response.json();
  if (!response.ok) { setStatus(answer.detail || `Error ${response.status}`); return; }
  setStatus("");
  show(answer);
  await refreshState();
}

$("typed").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  ask({ headers: { "content-type": "application/json" }, body: JSON.stringify({ text }) });
});

async function startRecording() {
  if (recorder) return;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    setStatus(`No microphone: ${error.message}`);
    return;
  }
  chunks = [];
  recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
  recorder.onstop = () => {
    stream.getTracks().forEach((track) => track.stop());
    const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
    recorder = null;
    $("talk").setAttribute("aria-pressed", "false");
    const form = new FormData();
    form.append("audio", blob, blob.type.includes("ogg") ? "request.ogg" : "request.webm");
    ask({ body: form });
  };
  recorder.start();
  $("talk").setAttribute("aria-pressed", "true");
  setStatus("Listening… release to send");
}

function stopRecording() {
  if (recorder && recorder.state === "recording") recorder.stop();
}

// Hold to talk; or click once to start and once more to stop (touch pads, keyboards).
let pressedAt = 0;
$("talk").addEventListener("pointerdown", () => {
  if (recorder) { stopRecording(); pressedAt = 0; return; }
  pressedAt = Date.now();
  startRecording();
});
$("talk").addEventListener("pointerup", () => {
  if (pressedAt && Date.now() - pressedAt > 400) stopRecording();
});
$("talk").addEventListener("keydown", (event) => {
  if (event.key === " " || event.key === "Enter") {
    event.preventDefault();
    if (recorder) stopRecording(); else startRecording();
  }
});

refreshState();
