import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdf, png } from '../support/payloads.ts';

/**
 * The README's quick start, as a newcomer runs it: a fresh copy of the repository (what git tracks,
 * no node_modules, no data), `npm ci && npm start`, then the curl commands under it — an upload, a
 * link for a private file, the download through that link.
 */
const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
let checkout = '';
let port = 0;
let server: ChildProcess | undefined;
let output = '';

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as { port: number };
      probe.close(() => resolve(free));
    });
  });

async function copyWorkingTree(to: string) {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    maxBuffer: 64 * 2 ** 20,
  });
  const files = stdout.split('\0').filter(Boolean);
  for (const file of files) {
    await mkdir(dirname(join(to, file)), { recursive: true });
    await copyFile(join(root, file), join(to, file)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // deleted in the working tree, not yet committed
    });
  }
}

const curl = async (...args: string[]) => (await run('curl', ['-sS', '--fail-with-body', ...args])).stdout;

beforeAll(async () => {
  checkout = await mkdtemp(join(tmpdir(), 'stowage-quickstart-'));
  await copyWorkingTree(checkout);
  port = await freePort();
  // Exactly the README's first command; PORT only because 8080 may be taken on a shared machine.
  server = spawn('sh', ['-c', 'npm ci && npm start'], {
    cwd: checkout,
    env: { ...process.env, PORT: String(port), CI: 'true', NODE_ENV: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  server.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  server.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if (
      await fetch(`http://127.0.0.1:${port}/healthz`)
        .then((response) => response.ok)
        .catch(() => false)
    )
      return;
    if (server.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the quick start did not come up:\n${output.slice(-4000)}`);
}, 320_000);

afterAll(async () => {
  if (server?.pid && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once('exit', resolve));
    process.kill(-server.pid, 'SIGTERM');
    await exited;
  }
  if (checkout) await rm(checkout, { recursive: true, force: true });
});

describe('README quick start', () => {
  it('starts on the embedded default, on loopback, and says so', () => {
    expect(output).toContain('embedded default');
    expect(output).toContain(`http://127.0.0.1:${port}`);
  });

  it('uploads with curl, issues a link, and downloads through it', async () => {
    const base = `http://127.0.0.1:${port}`;
    await writeFile(join(checkout, 'photo.png'), png(20_000));
    const report = pdf(50_000);
    await writeFile(join(checkout, 'report.pdf'), report);

    const media = JSON.parse(
      await curl('-F', `file=@${join(checkout, 'photo.png')}`, `${base}/v1/storages/media/objects`),
    );
    expect(media.objects[0]).toMatchObject({ contentType: 'image/png', size: 20_000 });
    const publicCopy = await fetch(media.objects[0].url);
    expect(publicCopy.status).toBe(200);
    await publicCopy.arrayBuffer();

    const uploaded = JSON.parse(
      await curl('-F', `file=@${join(checkout, 'report.pdf')}`, `${base}/v1/storages/private/objects`),
    );
    const key = uploaded.objects[0].key as string;
    const link = JSON.parse(
      await curl(
        '-H',
        'content-type: application/json',
        '-d',
        JSON.stringify({ key, expiresIn: 600 }),
        `${base}/v1/storages/private/urls`,
      ),
    );
    expect(link.url).toMatch(/signature=/);
    await curl('-o', join(checkout, 'downloaded.pdf'), link.url);
    expect((await readFile(join(checkout, 'downloaded.pdf'))).equals(report)).toBe(true);
  });
});
