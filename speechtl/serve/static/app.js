// The speechtl web page: microphone streaming over WS /v1/stream, uploads to POST /v1/transcribe,
// words with their times, a click plays the word's segment. No dependencies.
"use strict";
const $ = (id) => document.getElementById(id);
let models = [], socket = null, audioContext = null, source = null, processor = null, media = null;
let recorded = [], rate = 16000, stopAt = null, partials = 0;

function status(text) { $("status").textContent = text || ""; }
function headers() { const k = $("key").value; return k ? { "Authorization": "Bearer " + k } : {}; }

async function loadModels() {
  const r = await fetch("/v1/models", { headers: headers() });
  if (!r.ok) { status("models: " + (await r.json()).error); return; }
  models = (await r.json()).models;
  $("model").innerHTML = models.map((m) => `<option>${m.name}</option>`).join("");
  showLanguages();
}
function currentModel() { return models.find((m) => m.name === $("model").value) || models[0]; }
function showLanguages() {
  const m = currentModel();
  $("language").innerHTML = m ? m.languages.map((l) => `<option>${l}</option>`).join("") : "";
  rate = m ? m.sample_rate : 16000;
}

function showWords(result) {
  const box = $("result");
  box.innerHTML = "";
  for (const w of result.words) {
    const span = document.createElement("span");
    span.className = "word";
    span.dataset.start = w.start; span.dataset.end = w.end;
    span.title = `/${w.phonemes}/  confidence ${w.confidence}`;
    const word = document.createElement("span");
    word.className = "w"; word.textContent = w.word;
    span.appendChild(word);
    const times = document.createElement("small");
    times.textContent = `${w.start.toFixed(2)}-${w.end.toFixed(2)} s`;
    span.appendChild(times);
    span.onclick = () => play(w.start, w.end);
    box.appendChild(span);
  }
  if (!result.words.length) box.textContent = "(no words)";
}

function play(start, end) {
  const player = $("player");
  if (!player.src) return;
  player.currentTime = start; stopAt = end; player.play();
}
$("player").addEventListener("timeupdate", () => {
  if (stopAt !== null && $("player").currentTime >= stopAt) { $("player").pause(); stopAt = null; }
});

function wavBlob(chunks, sampleRate) {  // 16-bit mono WAV of the recorded samples, for playback
  const n = chunks.reduce((a, c) => a + c.length, 0), buf = new ArrayBuffer(44 + 2 * n), v = new DataView(buf);
  const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  str(0, "RIFF"); v.setUint32(4, 36 + 2 * n, true); str(8, "WAVEfmt "); v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); v.setUint16(22, 1, true); v.setUint32(24, sampleRate, true);
  v.setUint32(28, 2 * sampleRate, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  str(36, "data"); v.setUint32(40, 2 * n, true);
  let o = 44;
  for (const c of chunks) for (let i = 0; i < c.length; i++, o += 2) v.setInt16(o, c[i], true);
  return new Blob([buf], { type: "audio/wav" });
}

async function record() {
  status(""); $("partial").textContent = ""; $("result").innerHTML = ""; recorded = []; partials = 0;
  const params = new URLSearchParams({ model: $("model").value, language: $("language").value,
                                       sample_rate: String(rate) });
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(`${proto}//${location.host}/v1/stream?${params}`);
  socket.binaryType = "arraybuffer";
  // the key goes in the first message, never in the URL (URLs end up in access logs)
  socket.onopen = () => { if ($("key").value) socket.send(JSON.stringify({ type: "auth", api_key: $("key").value })); };
  socket.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "ready") socket.send(JSON.stringify({ type: "start", words: $("words").value }));
    else if (msg.type === "partial") { partials++; $("partial").textContent = msg.text || "…"; $("partial").dataset.count = partials; }
    else if (msg.type === "final") { $("partial").textContent = msg.text; showWords(msg); }
    else if (msg.type === "error") status("stream: " + msg.message);
  };
  socket.onclose = () => { stopAudio(); $("record").disabled = false; $("stop").disabled = true; };
  media = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false,
                                                               noiseSuppression: false, autoGainControl: false } });
  audioContext = new AudioContext({ sampleRate: rate });  // the browser resamples the microphone
  source = audioContext.createMediaStreamSource(media);
  processor = audioContext.createScriptProcessor(4096, 1, 1);
  processor.onaudioprocess = (e) => {
    const x = e.inputBuffer.getChannelData(0), pcm = new Int16Array(x.length);
    for (let i = 0; i < x.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(x[i] * 32767)));
    recorded.push(pcm);
    $("seconds").textContent = (recorded.length * 4096 / rate).toFixed(1) + " s";
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(pcm.buffer);
  };
  source.connect(processor); processor.connect(audioContext.destination);
  $("record").disabled = true; $("stop").disabled = false;
}

function stopAudio() {
  if (processor) { processor.disconnect(); processor.onaudioprocess = null; processor = null; }
  if (source) { source.disconnect(); source = null; }
  if (media) { media.getTracks().forEach((t) => t.stop()); media = null; }
  if (audioContext) { audioContext.close(); audioContext = null; }
}

function stop() {
  stopAudio();
  if (recorded.length) $("player").src = URL.createObjectURL(wavBlob(recorded, rate));
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "end" }));
  $("stop").disabled = true;
}

async function upload() {
  const file = $("file").files[0];
  if (!file) { status("choose an audio file first"); return; }
  status("decoding…"); $("result").innerHTML = "";
  const form = new FormData();
  form.append("audio", file); form.append("model", $("model").value);
  form.append("language", $("language").value); form.append("words", $("words").value);
  const r = await fetch("/v1/transcribe", { method: "POST", body: form, headers: headers() });
  const body = await r.json();
  if (!r.ok) { status(`error ${r.status}: ${body.error}`); return; }
  status("");
  $("player").src = URL.createObjectURL(file);
  showWords(body);
}

$("model").onchange = showLanguages;
$("key").onchange = loadModels;
$("record").onclick = () => record().catch((e) => status("microphone: " + e));
$("stop").onclick = stop;
$("upload").onclick = () => upload().catch((e) => status("upload: " + e));
loadModels().catch((e) => status("models: " + e));
