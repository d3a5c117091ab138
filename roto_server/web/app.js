// The roto web client: plain DOM, no framework. Every text that comes from the server goes
// through textContent (never innerHTML), so a stored value cannot become markup or code.
'use strict';

const $ = (id) => document.getElementById(id);
const ZOOM_MAX = 31424;
const MAX_MAGNIFICATION = 8; // zoom 31424 shows 1/8 of the sensor (roto_server/imaging/processing.py)
const SESSION_KEY = 'roto.session'; // when the cookie ends and who holds it; the cookie itself is HttpOnly

let state = {};
let socket = null;
let running = false;

// ---- small helpers --------------------------------------------------------------------------

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function notice(text, level = 'info') {
  const item = el('li', text, level);
  const list = $('notices');
  list.prepend(item);
  while (list.children.length > 5) list.lastChild.remove();
  setTimeout(() => item.remove(), 10000);
}

function head() {
  return state.cameraSwitch ? 1 : 0;
}

function duration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  const pad = (n) => String(n).padStart(2, '0');
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

function bytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = Number(n) || 0;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

function when(seconds) {
  return new Date(Number(seconds) * 1000).toLocaleString();
}

async function api(method, path, body) {
  // X-Requested-With: a refusal then comes without the Basic challenge that opens the browser's dialog
  const options = { method, credentials: 'same-origin', headers: { 'X-Requested-With': 'roto-web' } };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let doc = null;
  try {
    doc = await response.json();
  } catch (err) {
    doc = null;
  }
  if (!response.ok) {
    if (response.status === 401 && running) stop('Your session ended: log in again.');
    throw new Error((doc && doc.error) || `${response.status} ${response.statusText}`);
  }
  return doc;
}

// ---- login and session ----------------------------------------------------------------------

function savedSession() {
  try {
    const saved = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
    return saved && saved.expires > Date.now() ? saved : null;
  } catch (err) {
    return null;
  }
}

async function login(event) {
  event.preventDefault();
  const form = event.target;
  $('login-error').textContent = '';
  try {
    const doc = await api('POST', '/api/login', {
      username: form.username.value,
      password: form.password.value,
    });
    const data = doc.data || doc;
    localStorage.setItem(SESSION_KEY, JSON.stringify({ user: data.user, role: data.role, expires: data.expires }));
    form.password.value = '';
    start(savedSession());
  } catch (err) {
    $('login-error').textContent = err.message;
  }
}

async function logout() {
  try {
    await api('POST', '/api/logout');
  } catch (err) {
    // already ended: nothing else to undo
  }
  stop('Logged out.');
}

function start(session) {
  running = true;
  $('login').hidden = true;
  $('main').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = session ? `${session.user} (${session.role})` : '';
  // The picture and the gallery wait until the socket is open, which proves the cookie works:
  // a 401 to fetch() or <img> would make the browser ask for a password in its own dialog.
  connectState(() => {
    player.start();
    loadGallery();
  });
}

function stop(reason) {
  running = false;
  localStorage.removeItem(SESSION_KEY);
  if (socket) socket.close();
  socket = null;
  player.stop();
  $('main').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('login').hidden = false;
  $('login-error').textContent = reason || '';
}

// ---- live state over the C2 WebSocket ---------------------------------------------------------

function connectState(onFirstOpen) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/api`); // the session cookie travels along
  let opened = false;
  socket = ws;
  ws.onopen = () => {
    opened = true;
    $('link-status').textContent = 'live';
    if (onFirstOpen) onFirstOpen();
  };
  ws.onmessage = (event) => {
    let doc;
    try {
      doc = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    if (doc.notification) {
      const n = doc.notification;
      notice(n.variable ? `${n.variable}: ${n.message}` : n.message, n.level);
    } else if (doc.error) {
      notice(doc.error, 'error');
    } else {
      Object.assign(state, doc);
      render();
    }
  };
  ws.onclose = (event) => {
    if (socket !== ws || !running) return;
    $('link-status').textContent = 'disconnected';
    if (event.code === 1008 || !opened) {
      stop(event.reason || 'Not connected: log in again.');
    } else {
      setTimeout(() => running && connectState(), 2000); // the unit restarts its listener: try again
    }
  };
}

function send(values) {
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    notice('not connected to the unit', 'error');
    return;
  }
  socket.send(JSON.stringify(values));
}

const RECORD_WORDS = { start: 'recording', pause: 'paused', stop: 'stopped' };

const STATE_ROWS = [
  ['Heads', (s) => `head 0 ${s.cam0Exists ? 'connected' : 'absent'}, head 1 ${s.cam1Exists ? 'connected' : 'absent'}`],
  ['Live head', (s) => `head ${s.cameraSwitch ? 1 : 0}${s.pip ? ', picture in picture' : ''}`],
  ['Light', (s) => `head 0 ${s.light0 ? 'on' : 'off'}, head 1 ${s.light1 ? 'on' : 'off'}`],
  ['Rotation', (s) => [0, 1].map((i) => `head ${i} ${s[`dictRotation${i}`] ? `${s[`RPM${i}`]} rpm` : 'stopped'}`)
    .join(', ')],
  ['Temperature', (s) => `head 0 ${s.oct0}, head 1 ${s.oct1}, unit ${s.fpgaTemp}`],
  ['Sealing air', (s) => `head 0 ${s.psi0}, head 1 ${s.psi1} (set point ${s.psiSetpoint})`],
  ['Zoom / pan', (s) => {
    const pan = s[`pan${head()}`] || {};
    return `${s[`zoom${head()}`]} / x ${Number(pan.x).toFixed(1)} %, y ${Number(pan.y).toFixed(1)} %`;
  }],
  ['Recording', (s) => `${RECORD_WORDS[s.record] || 'stopped'} ${duration(s.recordTime)}`],
  ['Visual Backup', (s) => {
    const where = s.backupStorage && s.backupStorage.name ? s.backupStorage.name : 'no storage';
    return `${s.backupActive ? 'recording' : 'off'} (${where}, ${s.backupRemainingCapacity} left)`;
  }],
];

function render() {
  const list = $('state-list');
  if (!list.children.length) {
    for (const [label] of STATE_ROWS) {
      list.append(el('dt', label), el('dd'));
    }
  }
  STATE_ROWS.forEach(([, text], i) => {
    list.children[2 * i + 1].textContent = text(state);
  });
  const h = head();
  const light = Boolean(state[`light${h}`]);
  $('light').textContent = `Light head ${h}: ${light ? 'on' : 'off'}`;
  $('light').setAttribute('aria-pressed', String(light));
  $('switch-head').disabled = !state.cam1Exists;
  $('switch-head').textContent = `Show head ${1 - h}`;
  if (document.activeElement !== $('pip')) $('pip').value = String(state.pip || 0);
  $('pause').textContent = state.record === 'pause' ? 'Resume' : 'Pause';
  document.body.classList.toggle('recording', state.record === 'start');
  renderStorages();
}

function renderStorages() {
  const list = $('storages');
  const all = Object.values({ ...(state.diskStorages || {}), ...(state.netStorages || {}) });
  list.replaceChildren(
    ...all.map((st) => {
      const item = el('li');
      const roles = [];
      if (state.recordingStorage && state.recordingStorage.uuid === st.uuid) roles.push('recording');
      if (state.backupStorage && state.backupStorage.uuid === st.uuid) roles.push('backup');
      item.append(el('strong', st.name), el('span', ` ${st.type}${roles.length ? ` · ${roles.join(', ')}` : ''}`));
      if (!st.available) {
        item.append(el('span', ' · not available', 'error'));
      } else {
        const meter = el('meter');
        meter.max = Number(st.total) || 1;
        meter.value = Number(st.used) || 0;
        item.append(meter, el('span', `${st.freeStr} free of ${st.totalStr}${st.writable ? '' : ' (read only)'}`));
      }
      return item;
    }),
  );
}

// ---- the live picture -------------------------------------------------------------------------

// WebRTC first, MJPEG when WebRTC fails. #viewer's data-transport says which one shows the picture.
const WEBRTC_FIRST_FRAME_MS = 6000; // no picture by then (say, no route for ICE): MJPEG instead
const ICE_GATHERING_MS = 3000; // the unit takes no trickled candidates: the answer must carry them

const player = {
  retry: null,
  pc: null,
  async start() {
    this.stop();
    try {
      await startWebRtc(this);
      $('player-status').textContent = '';
    } catch (err) {
      this.stopWebRtc();
      if (running) this.startMjpeg(err.message);
    }
  },
  show(transport) {
    $('viewer').dataset.transport = transport;
    $('picture').hidden = transport !== 'mjpeg';
    $('video').hidden = transport !== 'webrtc';
  },
  startMjpeg(why) {
    const img = $('picture');
    const dpr = window.devicePixelRatio || 1;
    const width = Math.min(1920, Math.max(160, Math.round(($('viewer').clientWidth * dpr) / 16) * 16));
    img.onload = () => {
      $('player-status').textContent = '';
    };
    img.onerror = () => {
      if (!running) return;
      $('player-status').textContent = 'picture lost: reconnecting';
      this.retry = setTimeout(() => this.startMjpeg(why), 2000);
    };
    this.show('mjpeg');
    img.dataset.mode = 'mjpeg';
    img.title = `MJPEG (${why})`;
    img.src = `/camera.mjpeg?width=${width}&t=${Date.now()}`;
  },
  stopWebRtc() {
    if (this.pc) this.pc.close(); // the unit notices and frees the viewer slot
    this.pc = null;
    $('video').srcObject = null;
  },
  stop() {
    clearTimeout(this.retry);
    this.stopWebRtc();
    const img = $('picture');
    img.onerror = null;
    img.removeAttribute('src'); // ends the endless MJPEG response
  },
};

function within(ms, what, promise) {
  let timer;
  const late = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`WebRTC: no ${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
  });
}

function firstFrame(video) {
  return new Promise((resolve) => {
    const check = () => (video.videoWidth > 0 ? resolve() : setTimeout(check, 50));
    check();
  });
}

// The seed's flow: the unit offers (H.264, VP8 as a fallback), the page answers with every candidate in it.
async function startWebRtc(owner) {
  if (!window.RTCPeerConnection) throw new Error('this browser has no WebRTC');
  const video = $('video');
  const offer = await api('GET', '/api/webrtc/offer');
  const pc = new RTCPeerConnection();
  owner.pc = pc;
  pc.ontrack = (event) => {
    video.srcObject = event.streams[0] || new MediaStream([event.track]);
  };
  await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  await within(ICE_GATHERING_MS, 'ICE candidates', gathered(pc)).catch(() => {}); // send what there is
  await api('POST', '/api/webrtc/answer', { type: 'answer', sdp: pc.localDescription.sdp, id: offer.id });
  await within(WEBRTC_FIRST_FRAME_MS, 'picture', firstFrame(video));
  video.dataset.mode = 'webrtc';
  video.title = 'WebRTC';
  owner.show('webrtc');
  pc.addEventListener('connectionstatechange', () => {
    if (owner.pc !== pc || !running || !['failed', 'closed'].includes(pc.connectionState)) return;
    $('player-status').textContent = 'picture lost: reconnecting';
    owner.retry = setTimeout(() => owner.start(), 1000);
  });
}

// ---- controls ---------------------------------------------------------------------------------

function magnification() {
  return 1 + ((Number(state[`zoom${head()}`]) || 0) / ZOOM_MAX) * (MAX_MAGNIFICATION - 1);
}

// Drags and wheel turns arrive faster than the unit needs them: collect them, send every 100 ms.
const pending = { zoom: 0, x: 0, y: 0, timer: null };

function queueView(zoom, x, y) {
  pending.zoom += zoom;
  pending.x += x;
  pending.y += y;
  if (!pending.timer) pending.timer = setTimeout(flushView, 100);
}

function flushView() {
  const h = head();
  const values = {};
  if (pending.zoom) values[`zoom${h}`] = Math.round(pending.zoom);
  if (pending.x || pending.y) values[`pan${h}`] = { x: pending.x, y: pending.y };
  Object.assign(pending, { zoom: 0, x: 0, y: 0, timer: null });
  if (Object.keys(values).length) send(values);
}

function bindViewer() {
  const viewer = $('viewer');
  let last = null;
  viewer.addEventListener('pointerdown', (event) => {
    last = { x: event.clientX, y: event.clientY };
    viewer.setPointerCapture(event.pointerId);
  });
  viewer.addEventListener('pointermove', (event) => {
    if (!last) return;
    const rect = viewer.getBoundingClientRect();
    // a pan of 100 % moves the crop across the part of the sensor it does not show
    const spare = Math.max(0.25, magnification() - 1);
    const dx = (event.clientX - last.x) / rect.width;
    const dy = (event.clientY - last.y) / rect.height;
    queueView(0, (-dx * 100) / spare, (-dy * 100) / spare);
    last = { x: event.clientX, y: event.clientY };
  });
  const release = () => {
    last = null;
  };
  viewer.addEventListener('pointerup', release);
  viewer.addEventListener('pointercancel', release);
  viewer.addEventListener(
    'wheel',
    (event) => {
      event.preventDefault();
      queueView(-Math.sign(event.deltaY) * 1000, 0, 0);
    },
    { passive: false },
  );
}

function bindControls() {
  $('light').addEventListener('click', () => send({ [`light${head()}`]: !state[`light${head()}`] }));
  $('switch-head').addEventListener('click', () => send({ cameraSwitch: !state.cameraSwitch }));
  $('pip').addEventListener('change', (event) => send({ pip: Number(event.target.value) }));
  for (const button of document.querySelectorAll('[data-zoom]')) {
    button.addEventListener('click', () => send({ [`zoom${head()}`]: Number(button.dataset.zoom) }));
  }
  for (const button of document.querySelectorAll('[data-pan-x], [data-pan-y]')) {
    const pan = { x: Number(button.dataset.panX || 0), y: Number(button.dataset.panY || 0) };
    button.addEventListener('click', () => send({ [`pan${head()}`]: pan }));
  }
  $('view-reset').addEventListener('click', () => {
    const h = head();
    const pan = state[`pan${h}`] || { x: 50, y: 50 };
    send({ [`zoom${h}`]: -ZOOM_MAX, [`pan${h}`]: { x: 50 - pan.x, y: 50 - pan.y } });
  });
  for (const button of document.querySelectorAll('[data-record]')) {
    button.addEventListener('click', () => send({ record: button.dataset.record }));
  }
  $('pause').addEventListener('click', () => send({ record: state.record === 'pause' ? 'release' : 'pause' }));
  $('picture-take').addEventListener('click', () => send({ takePicture: true }));
  $('tag-form').addEventListener('submit', createTag);
  bindViewer();
}

async function createTag(event) {
  event.preventDefault();
  const form = event.target;
  try {
    const tag = await api('POST', '/api/backup/tags', { title: form.title.value, note: form.note.value });
    notice(`tag "${tag.title || ''}" created`);
    form.reset();
    loadGallery();
    // the first tag starts Visual Backup, whose file may reach the listing a moment later
    setTimeout(loadGallery, 1000);
  } catch (err) {
    notice(`tag not created: ${err.message}`, 'error');
  }
}

// ---- gallery ----------------------------------------------------------------------------------

function fileUrl(id) {
  return `/api/backup/files/${encodeURIComponent(id)}`;
}

async function loadGallery() {
  let files;
  let tags;
  try {
    [files, tags] = await Promise.all([api('GET', '/api/backup/files'), api('GET', '/api/backup/tags')]);
  } catch (err) {
    $('problems').replaceChildren(el('li', `gallery: ${err.message}`));
    return;
  }
  const names = new Map(files.files.map((f) => [f.id, f.name]));
  $('files').replaceChildren(...files.files.slice().reverse().map(fileItem));
  $('tags').replaceChildren(...tags.tags.slice().reverse().map((tag) => tagItem(tag, names)));
  if (!files.files.length) $('files').append(el('li', 'no backup files yet', 'hint'));
  if (!tags.tags.length) $('tags').append(el('li', 'no tags yet', 'hint'));
  const problems = [...files.problems, ...tags.problems];
  $('problems').replaceChildren(...problems.map((p) => el('li', `${p.storage.name}: ${p.reason}`)));
}

function fileItem(file) {
  const item = el('li');
  const facts = `${when(file.start)} · ${duration(file.duration)} · ${bytes(file.size)} · ${file.storage.name}`;
  const play = el('button', 'Play');
  play.type = 'button';
  play.addEventListener('click', () => playFile(file));
  const download = el('a', 'Download');
  download.href = fileUrl(file.id);
  download.download = file.name;
  item.append(el('strong', file.name), el('span', facts, 'facts'));
  if (!file.complete) item.append(el('span', 'being written', 'hint'));
  if (file.tags.length) item.append(el('span', `${file.tags.length} tag(s)`, 'hint'));
  item.append(play, download);
  return item;
}

function playFile(file) {
  const video = $('file-player');
  $('file-player-error').textContent = '';
  video.onerror = () => {
    $('file-player-error').textContent =
      `This browser cannot play ${file.name} (Matroska with MJPEG video): use Download and play it in VLC or ffplay.`;
  };
  video.src = fileUrl(file.id);
  $('player-box').hidden = false;
  video.play().catch(() => {}); // the error event above says why
}

function tagItem(tag, names) {
  const item = el('li');
  const remove = el('button', 'Remove');
  remove.type = 'button';
  remove.addEventListener('click', async () => {
    const question = `Remove the tag "${tag.title || 'untitled'}"? The backup file may then be overwritten.`;
    if (!window.confirm(question)) return;
    try {
      await api('DELETE', `/api/backup/tags/${encodeURIComponent(tag.id)}`);
      loadGallery();
    } catch (err) {
      notice(`tag not removed: ${err.message}`, 'error');
    }
  });
  const facts = `${when(tag.creationTime)} · ${names.get(tag.fileId) || tag.fileId}`;
  item.append(el('strong', tag.title || 'untitled', 'tag-title'), el('span', facts, 'facts'));
  if (tag.note) item.append(el('span', tag.note, 'note'));
  item.append(remove);
  return item;
}

// ---- API reference, from the unit's own OpenAPI document --------------------------------------

async function showDocs(event) {
  event.preventDefault();
  $('docs').hidden = false;
  if ($('docs-paths').children.length) return;
  try {
    const doc = await api('GET', '/api/openapi.json');
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        $('docs-paths').append(el('dt', `${method.toUpperCase()} ${path}`), el('dd', op.summary || ''));
      }
    }
    const variables = doc.components.schemas.C2State.properties;
    for (const [name, schema] of Object.entries(variables)) {
      $('docs-variables').append(el('dt', name), el('dd', schema.description || ''));
    }
  } catch (err) {
    $('docs-paths').append(el('dd', err.message, 'error'));
  }
  $('docs').scrollIntoView();
}

// ---- start --------------------------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('login').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('gallery-reload').addEventListener('click', loadGallery);
  $('file-player-close').addEventListener('click', () => {
    $('file-player').removeAttribute('src');
    $('player-box').hidden = true;
  });
  $('docs-link').addEventListener('click', showDocs);
  bindControls();
  const session = savedSession();
  if (session) start(session);
  else stop('');
});
