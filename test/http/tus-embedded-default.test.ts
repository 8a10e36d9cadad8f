import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdf, sha256 } from '../support/payloads.ts';
import { freePort } from '../support/stowage-process.ts';

/**
 * The embedded default (no STOWAGE_CONFIG: local storages under ./data) offers resumable uploads:
 * discovery advertises tus, and tus-js-client uploads through it in small chunks. Run as `npm start`
 * runs it, in a directory of its own so ./data is this test's.
 */
const SERVER = fileURLToPath(new URL('../../bin/server.mjs', import.meta.url));
const MiB = 2 ** 20;
let cwd = '';
let base = '';
let child: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'stowage-embedded-tus-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const { STOWAGE_CONFIG: _ignored, ...env } = process.env;
  child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', SERVER], {
    cwd,
    env: { ...env, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  for (let attempt = 0; attempt < 150; attempt++) {
    if (child.exitCode !== null) break;
    if (
      await fetch(`${base}/healthz`).then(
        (answer) => answer.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the embedded default did not start:\n${output.slice(-4000)}`);
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('the embedded default', () => {
  it('advertises tus on its storages (OPTIONS, no credentials)', async () => {
    const answer = await fetch(`${base}/v1/storages/private/uploads`, { method: 'OPTIONS' });
    expect(answer.status).toBe(204);
    expect(answer.headers.get('tus-resumable')).toBe('1.0.0');
    expect(answer.headers.get('tus-version')).toBe('1.0.0');
    expect(answer.headers.get('tus-extension')).toContain('creation');
    expect(answer.headers.get('tus-max-size')).toBe(String(100 * MiB));
  });

  it('tus-js-client uploads 3 MiB in 512 KiB chunks into ./data; the upload URL serves it', async () => {
    const data = pdf(3 * MiB + 5);
    const upload = await new Promise<tus.Upload>((resolve, reject) => {
      const started: tus.Upload = new tus.Upload(data, {
        endpoint: `${base}/v1/storages/private/uploads`,
        chunkSize: MiB / 2,
        metadata: { filename: 'report.pdf', filetype: 'application/pdf' },
        retryDelays: [0, 100],
        onSuccess: () => resolve(started),
        onError: reject,
      });
      started.start();
    });
    const got = await fetch(upload.url ?? '');
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/pdf');
    expect(got.headers.get('content-disposition')).toBe('attachment; filename=report.pdf');
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
    // Stored where the embedded default keeps the private storage, and no upload state left.
    expect(await readdir(join(cwd, 'data', 'private', 'objects'))).toHaveLength(1);
    expect(await readdir(join(cwd, 'data', 'private', '.resumable'))).toEqual([]);
  });
});
