// The demo page's logic (demo/index.html): Uppy's Dashboard with either its Tus plugin (resumable,
// through Stowage) or its AWS S3 plugin (straight to the bucket, signed by Stowage's `direct/sign`,
// then `direct/finalize`), a plain form upload straight to the bucket (a presigned POST policy), and
// a plain tus-js-client upload, all against Stowage on another origin.
// Plain JavaScript run as the browser gets it, no build step. Every step is recorded in
// `window.demo.events` ({type, …}), so the browser tests (test/http/tus-chromium.test.ts,
// test/http/direct-uppy-chromium.test.ts) observe what a user would see, and drive the same
// functions the buttons call.

import { digest, makeFile } from './files.js';
import { AwsS3, Dashboard, Tus, Uppy } from './vendor/uppy.min.mjs';

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
// Direct uploads over 10 MiB go multipart (Uppy's default is 100 MiB): parts of S3's 5 MiB minimum,
// so a file of ordinary size already shows create, parts and complete.
const MULTIPART_ABOVE = 10 * 2 ** 20;

const events = [];
const record = (type, detail = {}) => {
  events.push({ type, ...detail });
};
const $ = (id) => document.getElementById(id);
$('target').textContent = stowage || location.origin;
const toNumber = (value) =>
  value === null || value === undefined || value === '' ? undefined : Number(value);
const formatBytes = (n) => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`);

let storages = [];
let storage = params.get('storage') || '';
// Which Uppy plugin uploads: 'tus' (resumable, through Stowage) or 's3' (direct to the bucket).
let uploader = params.get('uploader') === 's3' ? 's3' : 'tus';
const storagePath = (name) => `${stowage}/v1/storages/${encodeURIComponent(name)}`;
const endpoint = () => `${storagePath(storage)}/uploads`;

/**
 * One call to a direct-upload route (`sign` or `finalize`) of the selected storage. A refusal
 * rejects with an Error carrying the status and body, which upload-error shows with its code.
 */
async function direct(route, body) {
  if (route === 'sign') record('sign', { method: body.method, partNumber: body.partNumber });
  const answer = await fetch(`${storagePath(storage)}/direct/${route}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await answer.text();
  if (!answer.ok)
    throw Object.assign(new Error(`${route} answered ${answer.status}`), {
      status: answer.status,
      body: text,
    });
  return JSON.parse(text);
}

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
  // What the frontend hands its own backend, which verifies it offline (GET /v1/receipts/keys).
  if (object.receipt) {
    const receipt = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'receipt';
    const token = document.createElement('code');
    token.className = 'receipt';
    token.textContent = object.receipt;
    receipt.append(summary, token);
    item.append(receipt);
  }
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

const uppy = new Uppy({ autoProceed: false }).use(Dashboard, {
  inline: true,
  target: '#dashboard',
  height: 340,
  showProgressDetails: true,
  proudlyDisplayPoweredByUppy: false,
});
// The Dashboard's uploads are recorded as client 'uppy' (Tus) or 's3' (AWS S3, direct).
const uppyClient = () => (uploader === 's3' ? 's3' : 'uppy');

/** Finalizes a direct upload: until then the object is only staged (and staging expires). */
async function finalize(file, key) {
  try {
    const { objects } = await direct('finalize', { key });
    for (const object of objects) await showStored('s3', object, undefined);
  } catch (error) {
    showError('s3', file.name, error.status, error.body, error.message);
  }
}

/** Installs the uploader plugin the switch names (Uppy runs one at a time), removing the other. */
function useUploader(name) {
  uploader = name;
  $('uploader').value = name;
  for (const id of ['Tus', 'AwsS3']) {
    const plugin = uppy.getPlugin(id);
    if (plugin) uppy.removePlugin(plugin);
  }
  if (name === 's3')
    uppy.use(AwsS3, {
      shouldUseMultipart: (file) => file.size > MULTIPART_ABOVE,
      // Uppy's whole signer: each S3 request it makes (PutObject, or create, parts, complete) is one sign.
      signRequest: (request) => direct('sign', request),
    });
  else
    uppy.use(Tus, {
      endpoint: endpoint(),
      headers,
      chunkSize,
      retryDelays,
      removeFingerprintOnSuccess: true,
      ...tusHooks('uppy'),
    });
  record('uploader', { name });
}

uppy.on('upload-progress', (file, progress) => {
  record('progress', {
    client: uppyClient(),
    name: file.name,
    sent: progress.bytesUploaded,
    total: file.size,
  });
});
uppy.on('upload-success', (file, response) => {
  record('success', { client: uppyClient(), name: file.name, url: response.uploadURL });
  // Uppy's flow ends at S3; the key in its answer is the one Stowage issued.
  if (uploader === 's3') return finalize(file, response.body.key);
});
uppy.on('upload-error', (file, error, response) => {
  const status = response?.status ?? error?.status;
  const body = response?.body?.xhr?.responseText ?? error?.body ?? error?.cause?.body;
  showError(uppyClient(), file?.name, status, body, error?.message);
});
uppy.on('upload-pause', (file, isPaused) => {
  record(isPaused ? 'paused' : 'resumed', { client: uppyClient(), name: file?.name });
});
useUploader(uploader);
$('uploader').addEventListener('change', (event) => useUploader(event.target.value));

/** Points both clients at a storage, with Uppy's checks set to its limits (the server checks again). */
function selectStorage(name) {
  storage = name;
  $('storage').value = name;
  const found = storages.find((one) => one.name === name);
  $('limits').textContent = found
    ? `${found.access}, up to ${formatBytes(found.maxFileSize)}` +
      (found.allowedTypes.length ? `, ${found.allowedTypes.join(' ')}` : ', any type')
    : '';
  // The AWS S3 plugin needs nothing: `direct` names the selected storage on every call.
  uppy.getPlugin('Tus')?.setOptions({ endpoint: endpoint() });
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

/**
 * A browser form upload, no Uppy: one presigned POST (a policy pinning the key Stowage issues and the
 * declared size and type, which S3 itself enforces), the form sent straight to the bucket, then
 * finalize — the single-request direct upload a plain <form> can make.
 */
async function formUpload(file) {
  record('started', { client: 'form', name: file.name });
  try {
    const target = await direct('sign', {
      method: 'POST',
      postPolicy: true,
      key: file.name,
      filename: file.name,
      size: file.size,
      ...(file.type && { contentType: file.type }),
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(target.fields ?? {})) form.append(name, value);
    if (!target.fields?.['Content-Type'])
      form.append('Content-Type', file.type || 'application/octet-stream');
    // S3 reads the fields before the file and ignores any after it.
    form.append('file', file);
    const posted = await fetch(target.url, { method: 'POST', body: form });
    record('response', { client: 'form', method: 'POST', status: posted.status });
    if (!posted.ok)
      throw Object.assign(new Error(`S3 refused the form: ${posted.status}`), {
        status: posted.status,
        body: await posted.text(),
      });
    record('success', { client: 'form', name: file.name });
    $('form-status').textContent = 'finalizing';
    const { objects } = await direct('finalize', { key: target.key });
    for (const object of objects) await showStored('form', object, undefined);
    $('form-status').textContent = 'done';
  } catch (error) {
    showError('form', file.name, error.status, error.body, error.message);
    $('form-status').textContent = 'failed';
  }
}
$('form-start').addEventListener('click', () => {
  const [file] = $('form-file').files;
  if (file) formUpload(file);
});

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
  useUploader,
  makeFile,
  digest,
  /** What dropping a file on the Dashboard and pressing Upload does. */
  uppyUpload(file) {
    uppy.addFile({ name: file.name, type: file.type, data: file, source: 'demo' });
    return uppy.upload().then(() => undefined);
  },
  formUpload,
  tusStart,
  tusPause,
  tusResume,
};
