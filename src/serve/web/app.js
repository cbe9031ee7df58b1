// The minivl web page: plain ES module, no build step. Talks to the same OpenAI-compatible API as any
// client (POST /v1/chat/completions with stream: true) and re-sends the whole conversation each turn,
// images included, as the reference multi-turn chat() expects (the server's caches make that cheap).
const $ = (id) => document.getElementById(id);
const log = $('log');
const form = $('ask');
const question = $('question');
const sendBtn = $('send');
const stopBtn = $('stop');
const drop = $('drop');
const fileInput = $('file');
const pendingList = $('pending');
const errorBox = $('error');

const settingIds = ['max-num', 'max-tokens', 'temperature', 'top-p', 'seed', 'system', 'api-key'];
for (const id of settingIds) {
  const saved = localStorage.getItem(`minivl.${id}`);
  if (saved !== null) $(id).value = saved;
  $(id).addEventListener('change', () => localStorage.setItem(`minivl.${id}`, $(id).value));
}

let modelId = null;
/** The conversation in OpenAI's message format (images as data: URLs). */
let messages = [];
/** Images waiting for the next question: { url, name }. */
let pending = [];
/** The figure of the conversation's first image: grounding boxes are in its coordinates. */
let firstFigure = null;
let controller = null;

function headers() {
  const h = { 'content-type': 'application/json' };
  const key = $('api-key').value.trim();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

async function loadModel() {
  try {
    const r = await fetch('/v1/models', { headers: headers() });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error?.message ?? `HTTP ${r.status}`);
    modelId = body.data[0].id;
    $('model').textContent = `model: ${modelId}`;
  } catch (e) {
    $('model').textContent = 'not connected';
    showError(`Could not list models: ${e.message}`);
  }
}

// ---- images: pick, drop, paste --------------------------------------------------------------
function addFiles(files) {
  for (const f of files) {
    if (!f.type.startsWith('image/')) continue;
    const reader = new FileReader();
    reader.onload = () => {
      pending.push({ url: reader.result, name: f.name || 'pasted image' });
      renderPending();
    };
    reader.readAsDataURL(f);
  }
}

function renderPending() {
  pendingList.replaceChildren(
    ...pending.map((p, i) => {
      const li = document.createElement('li');
      const img = document.createElement('img');
      img.src = p.url;
      img.alt = p.name;
      const rm = document.createElement('button');
      rm.type = 'button';
      rm.textContent = '×';
      rm.setAttribute('aria-label', `Remove ${p.name}`);
      rm.onclick = () => {
        pending.splice(i, 1);
        renderPending();
      };
      li.append(img, rm);
      return li;
    }),
  );
}

drop.addEventListener('click', () => fileInput.click());
drop.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    fileInput.click();
  }
});
fileInput.addEventListener('change', () => {
  addFiles(fileInput.files);
  fileInput.value = '';
});
for (const ev of ['dragenter', 'dragover']) drop.addEventListener(ev, (e) => (e.preventDefault(), drop.classList.add('over')));
for (const ev of ['dragleave', 'drop']) drop.addEventListener(ev, () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  addFiles(e.dataTransfer.files);
});
document.addEventListener('paste', (e) => {
  const files = [...(e.clipboardData?.items ?? [])].filter((i) => i.kind === 'file').map((i) => i.getAsFile());
  if (files.length > 0) addFiles(files);
});

// ---- conversation ---------------------------------------------------------------------------
function bubble(role) {
  const div = document.createElement('div');
  div.className = `msg ${role}`;
  log.append(div);
  return div;
}

function figure(url, name) {
  const fig = document.createElement('span');
  fig.className = 'figure';
  const img = document.createElement('img');
  img.src = url;
  img.alt = name;
  fig.append(img);
  return fig;
}

/** Draws grounded boxes (0..1000 coordinates of the first image) on that image. */
function drawBoxes(grounding) {
  if (!firstFigure) return;
  for (const g of grounding) {
    for (const [x1, y1, x2, y2] of g.normalized) {
      const box = document.createElement('div');
      box.className = 'box';
      Object.assign(box.style, { left: `${x1 / 10}%`, top: `${y1 / 10}%`, width: `${(x2 - x1) / 10}%`, height: `${(y2 - y1) / 10}%` });
      if (g.ref) {
        const label = document.createElement('span');
        label.textContent = g.ref;
        box.append(label);
      }
      box.title = `${g.ref ?? 'box'}: [${x1}, ${y1}, ${x2}, ${y2}]`;
      firstFigure.append(box);
    }
  }
}

function requestBody() {
  const num = (id) => Number($(id).value);
  const system = $('system').value.trim();
  return {
    model: modelId,
    messages: system ? [{ role: 'system', content: system }, ...messages] : messages,
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: num('max-tokens'),
    temperature: num('temperature'),
    top_p: num('top-p'),
    seed: num('seed'),
    max_num: num('max-num'),
  };
}

/** Yields the JSON of each `data:` event of an SSE response body. */
async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, end);
      buf = buf.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        yield JSON.parse(data);
      }
    }
  }
}

async function ask(text) {
  showError('');
  if (!modelId) await loadModel();
  if (!modelId) return;
  const content = [...pending.map((p) => ({ type: 'image_url', image_url: { url: p.url } })), { type: 'text', text }];
  const user = bubble('user');
  for (const p of pending) {
    const fig = figure(p.url, p.name);
    firstFigure ??= fig;
    user.append(fig, document.createElement('br'));
  }
  user.append(text);
  pending = [];
  renderPending();
  messages.push({ role: 'user', content });

  const answer = bubble('assistant');
  answer.classList.add('streaming');
  const textNode = document.createTextNode('');
  answer.append(textNode);
  controller = new AbortController();
  sendBtn.disabled = true;
  stopBtn.disabled = false;
  let finished = false;
  try {
    const r = await fetch('/v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(requestBody()), signal: controller.signal });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      throw new Error(body.error?.message ?? `HTTP ${r.status}`);
    }
    for await (const chunk of sseEvents(r.body)) {
      if (chunk.error) throw new Error(chunk.error.message);
      const choice = chunk.choices?.[0];
      if (choice?.delta?.content) textNode.data += choice.delta.content;
      if (choice?.grounding) drawBoxes(choice.grounding);
      if (choice?.finish_reason) finished = true;
      if (chunk.usage) {
        const meta = document.createElement('div');
        meta.className = 'meta';
        const img = chunk.usage.images;
        meta.textContent = `${chunk.usage.prompt_tokens} prompt tokens (${chunk.usage.prompt_tokens_details?.cached_tokens ?? 0} reused` +
          `${img?.count ? `, ${img.count} image(s), ${img.tiles} tiles` : ''}), ${chunk.usage.completion_tokens} generated`;
        answer.after(meta);
      }
    }
    if (!finished) throw new Error('the answer ended early');
    messages.push({ role: 'assistant', content: textNode.data });
  } catch (e) {
    // A stopped or failed answer is not part of the conversation (as in the library's sessions).
    messages.pop();
    if (e.name === 'AbortError') textNode.data += ' [stopped]';
    else showError(e.message);
  } finally {
    answer.classList.remove('streaming');
    controller = null;
    sendBtn.disabled = false;
    stopBtn.disabled = true;
    question.focus();
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = question.value.trim();
  if (!text || controller) return;
  question.value = '';
  void ask(text);
});
question.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    form.requestSubmit();
  }
});
stopBtn.addEventListener('click', () => controller?.abort());
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') controller?.abort();
});
$('reset').addEventListener('click', () => {
  controller?.abort();
  messages = [];
  pending = [];
  firstFigure = null;
  renderPending();
  log.replaceChildren();
  showError('');
  question.focus();
});

void loadModel();
