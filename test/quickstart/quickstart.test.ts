import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pdf, png } from '../support/payloads.ts';
import {
  fillPlaceholders,
  type PlaceholderValues,
  readmeInlineCommands,
  readmeShellCommands,
} from '../support/readme-commands.ts';
import { createTestBucket, emptyAndDeleteBucket, listAllKeys } from '../support/s3-admin.ts';
import { freePort } from '../support/stowage-process.ts';

/**
 * Every command block of the README, run as a newcomer runs it: in a fresh copy of the repository
 * (what git tracks, no node_modules, no data), one command after another, exactly as written — the
 * README is read now, not copied here. `…` and `<the url>` are filled with what earlier commands
 * printed or with the test S3 server's settings (test/support/readme-commands.ts); Stowage gets a
 * free PORT because 8080 may be taken on a shared machine, and `http://127.0.0.1:8080` points there.
 * `npm test` is the one command not run here: it is the whole suite, this file included, and
 * exactly what CI runs (.ci/run).
 */
const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const commands = await readmeShellCommands();
const inline = await readmeInlineCommands();

/** Inline commands this file does not run, each with where it is run or checked instead. */
const NOT_RUN: Record<string, string> = {
  'npm test': "the whole suite, this file included: CI's own command (.ci/run)",
  'npm ci': 'run by the quick-start block (npm ci && npm start)',
  'npm start': 'run by the quick-start and S3 blocks',
  'npm run soak': 'a test project of its own, the last one `npm test` runs',
  'docker compose up --build':
    "MinIO's image cannot be pulled here: test/image runs the stowage service's compose environment in the built image",
  'docker build -t stowage .':
    'run by test/image/image.test.ts (on a stand-in base as NODE_IMAGE, --network host)',
  'docker stop -t 30': 'run by test/image/image.test.ts during an upload that never finishes',
  'npx stowage': 'a name in the text, not a command',
  'npm run cli --': 'a name in the text, not a command',
};
const photo = png(20_000);
const report = pdf(50_000);
let checkout = '';
const buckets: Record<'MEDIA_BUCKET' | 'PRIVATE_BUCKET' | 'EXPORTS_BUCKET', string> = {
  MEDIA_BUCKET: '',
  PRIVATE_BUCKET: '',
  EXPORTS_BUCKET: '',
};

interface Ran {
  command: string;
  stdout: string;
}
/** What each command printed (servers: their log), in README order. */
const ran: Ran[] = [];
const values: PlaceholderValues & { env: Record<string, string>; keys: Record<string, string> } = {
  env: {},
  keys: {},
};
let server: { process: ChildProcess; base: string; output: () => string } | undefined;
let apiKey = '';

async function copyWorkingTree(to: string) {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    maxBuffer: 64 * 2 ** 20,
  });
  for (const file of stdout.split('\0').filter(Boolean)) {
    await mkdir(dirname(join(to, file)), { recursive: true });
    await copyFile(join(root, file), join(to, file)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // deleted in the working tree, not yet committed
    });
  }
}

const childEnv = (port: number) => ({ ...process.env, PORT: String(port), CI: 'true', NODE_ENV: '' });

async function stopServer() {
  const current = server;
  server = undefined;
  if (!current?.process.pid || current.process.exitCode !== null) return;
  const exited = new Promise((resolve) => current.process.once('exit', resolve));
  process.kill(-current.process.pid, 'SIGTERM');
  await exited;
}

/** A long-running command in the checkout, in its own process group, its output collected. */
function spawnInCheckout(
  command: string,
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; output: () => string } {
  const child = spawn('sh', ['-c', command], {
    cwd: checkout,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
  return { child, output: () => output };
}

/** Whether `url` answers 2xx before the deadline, polling while the process that should serve it runs. */
async function answers(url: string, child: ChildProcess, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline && child.exitCode === null) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/** A command ending in `npm start`: the service, kept running (the README's "another terminal"). */
async function startServer(text: string): Promise<string> {
  await stopServer();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { child, output } = spawnInCheckout(
    fillPlaceholders(text, { ...values, baseUrl: base }),
    childEnv(port),
  );
  server = { process: child, base, output };
  if (await answers(`${base}/healthz`, child, 300)) return output();
  throw new Error(`"${text}" did not come up:\n${output().slice(-4000)}`);
}

/**
 * `npm run demo` (the "Try it in a browser" block): the demo page's server, on a free port and
 * pointed at the running service as `http://127.0.0.1:8080` is; it runs until the page and the
 * bundles it loads from the fresh checkout's node_modules were fetched, then stops.
 */
async function tryDemo(text: string): Promise<string> {
  const base = server?.base ?? '';
  const port = await freePort();
  const page = `http://127.0.0.1:${port}/`;
  const { child, output } = spawnInCheckout(fillPlaceholders(text, { ...values, baseUrl: base }), {
    ...childEnv(0),
    DEMO_PORT: String(port),
    STOWAGE_URL: base,
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    if (!(await answers(page, child, 60)))
      throw new Error(`"${text}" did not serve ${page}:\n${output().slice(-4000)}`);
    demoServed.page = await (await fetch(page)).text();
    for (const asset of [
      'vendor/uppy.min.mjs',
      'vendor/uppy.min.css',
      'vendor/tus.min.js',
      'page.js',
      'files.js',
    ])
      demoServed.assets[asset] = (await fetch(`${page}${asset}`)).status;
  } finally {
    if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    await exited;
  }
  return output();
}
const demoServed: { page: string; assets: Record<string, number> } = { page: '', assets: {} };

/** Runs one command in the checkout and keeps what later placeholders need from its output. */
async function runCommand(text: string): Promise<string> {
  const filled = fillPlaceholders(text, { ...values, ...(server ? { baseUrl: server.base } : {}) });
  const { stdout } = await run('sh', ['-c', filled], { cwd: checkout, env: childEnv(0), maxBuffer: 2 ** 24 });
  const hash = /^key:\s+(stw_\S+)\nhash: (sha256:[0-9a-f]{64})$/m.exec(stdout);
  if (hash?.[1] && hash[2]) {
    apiKey = hash[1];
    values.env.STOWAGE_API_KEY_HASH = hash[2];
  }
  const json = (() => {
    try {
      return JSON.parse(stdout) as { objects?: Array<{ key: string }>; url?: string };
    } catch {
      return undefined;
    }
  })();
  for (const { key } of json?.objects ?? []) values.keys[key.split('.').pop() ?? ''] = key;
  if (json?.url) values.url = json.url;
  return stdout;
}

beforeAll(async () => {
  checkout = await mkdtemp(join(tmpdir(), 'stowage-quickstart-'));
  await copyWorkingTree(checkout);
  // The reader's own files, which the curl commands upload.
  await writeFile(join(checkout, 'photo.png'), photo);
  await writeFile(join(checkout, 'report.pdf'), report);
  const s3 = inject('s3');
  for (const name of Object.keys(buckets) as Array<keyof typeof buckets>) {
    buckets[name] = await createTestBucket(s3, `readme-${name.split('_')[0]?.toLowerCase()}`);
  }
  Object.assign(values.env, buckets, {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  });
}, 60_000);

afterAll(async () => {
  await stopServer();
  await Promise.all(Object.values(buckets).map((bucket) => bucket && emptyAndDeleteBucket(bucket)));
  if (checkout) await rm(checkout, { recursive: true, force: true });
});

const at = (pattern: RegExp): Ran => {
  const found = ran.find(({ command }) => pattern.test(command));
  if (!found) throw new Error(`the README has no command matching ${pattern}`);
  return found;
};

describe('README commands', () => {
  it('runs every command block as written, in order', async () => {
    expect(commands.length).toBeGreaterThan(5);
    for (const { text } of commands) {
      if (/^npm test(\s|$)/.test(text)) {
        expect(await readFile(join(root, '.ci', 'run'), 'utf8')).toMatch(/^\s*(exec )?npm test\s*$/m);
        continue;
      }
      const stdout = /\bnpm start\s*(#.*)?$/.test(text)
        ? await startServer(text)
        : /^npm run demo\b/.test(text)
          ? await tryDemo(text)
          : await runCommand(text);
      ran.push({ command: text, stdout });
    }
  }, 600_000);

  it('quick start: the embedded default on loopback, says so', () => {
    const started = at(/^npm ci && npm start/);
    expect(started.stdout).toContain('embedded default');
    expect(started.stdout).toMatch(/http:\/\/127\.0\.0\.1:\d+/);
  });

  it('quick start: the curl commands upload, issue a link, and download through it', async () => {
    const media = JSON.parse(at(/photo\.png/).stdout);
    expect(media.objects[0]).toMatchObject({ contentType: 'image/png', size: photo.length });
    const uploaded = JSON.parse(at(/report\.pdf .*\/private\/objects/).stdout);
    expect(uploaded.objects[0]).toMatchObject({ contentType: 'application/pdf', size: report.length });
    expect(JSON.parse(at(/\/urls$/).stdout).url).toMatch(/signature=/);
    const download = at(/<the url>/).command.match(/-o (\S+)/)?.[1] ?? '';
    expect((await readFile(join(checkout, download))).equals(report)).toBe(true);
  });

  it('try it in a browser: the demo page and its bundles, from node_modules, calling the running service', () => {
    expect(at(/^npm run demo\b/).stdout).toMatch(/^Stowage demo page: http:\/\/127\.0\.0\.1:\d+\/ /m);
    expect(demoServed.page).toContain(`<meta name="stowage-url" content="${server?.base}" />`);
    expect(demoServed.assets).toEqual({
      'vendor/uppy.min.mjs': 200,
      'vendor/uppy.min.css': 200,
      'vendor/tus.min.js': 200,
      'page.js': 200,
      'files.js': 200,
    });
  });

  it("runs the commands quoted in the text as written, with the S3 command's variables exported", async () => {
    expect(inline.filter((command) => !(command in NOT_RUN))).not.toEqual([]);
    expect(
      Object.keys(NOT_RUN).filter((command) => !inline.includes(command)),
      'stale NOT_RUN',
    ).toEqual([]);
    // The reader's own file the text names: a config (the example's copy). The lifecycle rules come
    // from `stowage bucket-lifecycle`, one of the commands below.
    await copyFile(join(checkout, 'stowage.example.yaml'), join(checkout, 'stowage.yaml'));
    const env = {
      ...childEnv(0),
      ...values.env,
      STOWAGE_CONFIG: 'stowage.example.yaml',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_DEFAULT_REGION: inject('s3').region,
      CORS_ORIGIN: 'https://app.example.com',
    };
    const sh = (text: string) => run('sh', ['-c', text], { cwd: checkout, env, maxBuffer: 2 ** 24 });
    // The README's S3 commands are the AWS CLI's; without it they cannot be run as written.
    await sh('aws --version').catch((error: Error) => {
      throw new Error(`the README's aws commands need the AWS CLI on PATH: ${error.message}`);
    });
    const before = {
      readme: await readFile(join(checkout, 'README.md'), 'utf8'),
      openapi: await readFile(join(checkout, 'openapi.yaml'), 'utf8'),
    };
    // `check` last: it should pass once the policy, CORS and lifecycle commands before it were applied.
    const ordered = [
      ...inline.filter((command) => !/ -- check$/.test(command)),
      ...inline.filter((command) => / -- check$/.test(command)),
    ];
    const outputs = new Map<string, string>();
    for (const command of ordered) {
      if (command in NOT_RUN) continue;
      // A public-read policy belongs on the public storage's bucket only; the rest on every bucket.
      const targets = !command.includes('<bucket>')
        ? [undefined]
        : command.includes('put-bucket-policy')
          ? [buckets.MEDIA_BUCKET]
          : Object.values(buckets);
      for (const bucket of targets) {
        const { stdout } = await sh(fillPlaceholders(command, { ...values, ...(bucket ? { bucket } : {}) }));
        outputs.set(command, stdout);
      }
    }
    expect(JSON.parse(await readFile(join(checkout, 'policy.json'), 'utf8')).Statement[0].Resource).toEqual([
      `arn:aws:s3:::${buckets.MEDIA_BUCKET}/uploads/*`,
    ]);
    const check = [...outputs].find(([command]) => / -- check$/.test(command))?.[1] ?? '';
    expect(check).toMatch(
      new RegExp(`^media\\s+s3://${buckets.MEDIA_BUCKET}/uploads/\\s+ok\\s+ok\\s+ok\\s+ok\\s`, 'm'),
    );
    expect(check).not.toMatch(/\bFAIL\b|\bwarn\b/);
    // The generators agree with what is checked in.
    expect(await readFile(join(checkout, 'README.md'), 'utf8')).toBe(before.readme);
    expect(await readFile(join(checkout, 'openapi.yaml'), 'utf8')).toBe(before.openapi);
  }, 300_000);

  it('S3: the example config starts with the variables the command sets, and serves the API key', async () => {
    expect(at(/STOWAGE_CONFIG=stowage\.example\.yaml/).stdout).not.toContain('embedded default');
    const base = server?.base ?? '';
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status, await ready.text()).toBe(200);
    const put = await fetch(`${base}/v1/storages/private/objects/readme/check.txt`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'text/plain' },
      body: 'stored through the README command',
    });
    expect(put.status, await put.text()).toBe(201);
    expect(await listAllKeys(buckets.PRIVATE_BUCKET)).toEqual(['readme/check.txt']);
    const removed = await fetch(`${base}/v1/storages/private/objects/readme/check.txt`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(removed.status).toBe(204);
  });
});
