// The demo page's logic (demo/index.html): Uppy's Dashboard with its Tus plugin, and a plain
// tus-js-client upload, both against Stowage's tus endpoint on another origin. Plain JavaScript run
// as the browser gets it, no build step. Every step is recorded in `window.demo.events` ({type, …}),
// so the browser tests (test/http/tus-chromium.test.ts) observe what a user would see, and drive the
// same functions the buttons call.

import { digest, makeFile } from '/files.js';
import { Dashboard, Tus, Uppy } from '/vendor/uppy.min.mjs';

const { tus } = window; // tus-js-client's browser bundle, loaded before this module

const params = new URLSearchParams(location.search);
const stowage = (params.get('stowage') || document.querySelector('meta[name="stowage-url"]').content).replace(
  /\/+$/,
  '',
);
const token = params.get('token');
const headers = token ? { Authorization: `Bearer ${token}` } : {};
// tus-js-client's and Uppy's default: one PATCH for the whole file (Stowage streams it to S3 in parts).
const chunkSize = Number(params.get('chunkSize')) || Number.POSITIVE_INFINITY;
// A dropped connection, or a 423 while the server still finishes the request that dropped, is retried.
const retryDelays = [0, 500, 1000, 2000, 4000];

const events = [];
const record = (type, detail = {}) => {
  events.push({ type, ...detail });
};
const $ = (id) => document.getElementById(id);
$('target').textContent = stowage;
const toNumber = (value) =>
  value === null || value === undefined || value === '' ? undefined : Number(value);
const formatBytes = (n) => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`);

let storages = [];
let storage = params.get('storage') || '';
const storagePath = (name) => `${stowage}/v1/storages/${encodeURIComponent(name)}`;
const endpoint = () => `${storagePath(storage)}/uploads`;

/** Hooks for both clients: every request and answer in `events`, and the stored object from the last PATCH. */
function tusHooks(client) {
  return {
    onBeforeRequest(request) {
      const offset = toNumber(request.getHeader('Upload-Offset'));
      record('request', { client, method: request.getMethod(), url: request.getURL(), offset });
    },
    onAfterResponse(request, response) {
      const method = request.getMethod();
      const status = response.getStatus();
      record('response', { client, method, status, offset: toNumber(response.getHeader('Upload-Offset')) });
      // The PATCH (or creation-with-upload POST) that completes the upload answers the stored object.
      if ((method === 'PATCH' && status === 200) || (method === 'POST' && status === 201)) {
        const body = response.getBody();
        if (!body) return;
        const uploadUrl =
          method === 'POST'
            ? new URL(response.getHeader('Location'), request.getURL()).href
            : request.getURL();
        showStored(client, JSON.parse(body), uploadUrl);
      }
    },
  };
}

/** Lists a stored object with a link: its public URL, else a short-lived signed one, else the upload URL. */
async function showStored(client, object, uploadUrl) {
  let link = object.url;
  if (!link) {
    const answer = await fetch(`${storagePath(object.storage)}/urls`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ key: object.key }),
    }).catch(() => undefined);
    if (answer?.ok) link = (await answer.json()).url;
  }
  // GET on a finished upload's URL serves the object to whoever uploaded it.
  link ??= uploadUrl;
  record('stored', { client, object, link, uploadUrl });
  const item = document.createElement('li');
  const anchor = document.createElement('a');
  anchor.href = link;
  anchor.textContent = object.originalName ?? object.key;
  item.append(anchor, ` — ${formatBytes(object.size)}, ${object.contentType}, key `);
  const key = document.createElement('code');
  key.textContent = `${object.storage}/${object.key}`;
  item.append(key, ` (${client})`);
  $('objects').append(item);
}

/** An upload that failed for good: in `events` and on the page, with the server's error code. */
function showError(client, name, status, body, fallback) {
  let code;
  let message = fallback;
  try {
    ({ code, message } = JSON.parse(body).error);
  } catch {
    // Not one of Stowage's JSON errors (a network error, a proxy's page): the client's message stays.
  }
  record('error', { client, name, status, code, message });
  const item = document.createElement('li');
  item.textContent = `${name} (${client}): ${status ? `${status} ` : ''}${code ?? ''} ${message ?? ''}`;
  $('errors').append(item);
}

const uppy = new Uppy({ autoProceed: false })
  .use(Dashboard, {
    inline: true,
    target: '#dashboard',
    height: 340,
    showProgressDetails: true,
    proudlyDisplayPoweredByUppy: false,
  })
  .use(Tus, {
    endpoint: endpoint(),
    headers,
    chunkSize,
    retryDelays,
    removeFingerprintOnSuccess: true,
    ...tusHooks('uppy'),
  });
uppy.on('upload-progress', (file, progress) => {
  record('progress', { client: 'uppy', name: file.name, sent: progress.bytesUploaded, total: file.size });
});
uppy.on('upload-success', (file, response) => {
  record('success', { client: 'uppy', name: file.name, url: response.uploadURL });
});
uppy.on('upload-error', (file, error, response) => {
  showError('uppy', file?.name, response?.status, response?.body?.xhr?.responseText, error?.message);
});
uppy.on('upload-pause', (file, isPaused) => {
  record(isPaused ? 'paused' : 'resumed', { client: 'uppy', name: file?.name });
});

/** Points both clients at a storage, with Uppy's checks set to its limits (the server checks again). */
function selectStorage(name) {
  storage = name;
  $('storage').value = name;
  const found = storages.find((one) => one.name === name);
  $('limits').textContent = found
    ? `${found.access}, up to ${formatBytes(found.maxFileSize)}` +
      (found.allowedTypes.length ? `, ${found.allowedTypes.join(' ')}` : ', any type')
    : '';
  uppy.getPlugin('Tus').setOptions({ endpoint: endpoint() });
  uppy.setOptions({
    restrictions: {
      maxFileSize: found?.maxFileSize ?? null,
      allowedFileTypes: found?.allowedTypes.length ? found.allowedTypes : null,
    },
  });
  record('storage', { name });
}

async function loadStorages() {
  try {
    const answer = await fetch(`${stowage}/v1/storages`, { headers });
    if (!answer.ok) throw new Error(`GET /v1/storages answered ${answer.status}`);
    ({ storages } = await answer.json());
  } catch (error) {
    showError('page', 'storages', undefined, undefined, `cannot list the storages at ${stowage}: ${error}`);
  }
  const names = storages.map((one) => one.name);
  // A storage named in the URL stays offered even if the listing does not show it.
  if (storage && !names.includes(storage)) names.unshift(storage);
  for (const name of names) $('storage').append(new Option(name, name));
  if (names.length > 0) selectStorage(storage || names[0]);
  record('ready', { stowage, storages: names });
}
$('storage').addEventListener('change', (event) => selectStorage(event.target.value));

// The tus-js-client upload: one at a time, paused by abort() (the upload stays on the server) and
// resumed by start() (a HEAD for the offset, then PATCHes from there).
let current;
function setButtons(state) {
  $('tus-start').disabled = state === 'running';
  $('tus-pause').disabled = state !== 'running';
  $('tus-resume').disabled = state !== 'paused';
}

async function tusStart(file) {
  const upload = new tus.Upload(file, {
    endpoint: endpoint(),
    headers,
    chunkSize,
    retryDelays,
    metadata: { filename: file.name, filetype: file.type },
    // The fingerprint (name, type, size, lastModified, endpoint) in localStorage resumes after a reload.
    removeFingerprintOnSuccess: true,
    ...tusHooks('tus'),
    onProgress(sent, total) {
      record('progress', { client: 'tus', name: file.name, sent, total });
      $('tus-progress').value = total ? sent / total : 1;
      $('tus-status').textContent = `${formatBytes(sent)} of ${formatBytes(total)}`;
    },
    onChunkComplete(_chunk, sent, total) {
      record('chunk', { client: 'tus', name: file.name, sent, total });
    },
    onSuccess() {
      record('success', { client: 'tus', name: file.name, url: upload.url });
      $('tus-status').textContent = 'done';
      setButtons('idle');
    },
    onError(error) {
      const response = error.originalResponse;
      showError('tus', file.name, response?.getStatus(), response?.getBody(), error.message);
      $('tus-status').textContent = 'failed';
      setButtons('idle');
    },
  });
  current = upload;
  const [previous] = await upload.findPreviousUploads();
  if (previous) {
    upload.resumeFromPreviousUpload(previous);
    record('resuming', { client: 'tus', name: file.name, url: previous.uploadUrl });
  }
  upload.start();
  record('started', { client: 'tus', name: file.name });
  setButtons('running');
}

async function tusPause() {
  await current?.abort();
  record('paused', { client: 'tus', name: current?.file.name });
  setButtons('paused');
}

function tusResume() {
  current?.start();
  record('resumed', { client: 'tus', name: current?.file.name });
  setButtons('running');
}

$('tus-start').addEventListener('click', () => {
  const [file] = $('tus-file').files;
  if (file) tusStart(file);
});
$('tus-pause').addEventListener('click', tusPause);
$('tus-resume').addEventListener('click', tusResume);

window.demo = {
  events,
  uppy,
  stowage,
  get storage() {
    return storage;
  },
  ready: loadStorages(),
  selectStorage,
  makeFile,
  digest,
  /** What dropping a file on the Dashboard and pressing Upload does. */
  uppyUpload(file) {
    uppy.addFile({ name: file.name, type: file.type, data: file, source: 'demo' });
    return uppy.upload().then(() => undefined);
  },
  tusStart,
  tusPause,
  tusResume,
};
