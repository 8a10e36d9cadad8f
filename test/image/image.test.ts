import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { parse } from 'yaml';
import { bytesOf } from '../support/api.ts';
import { composeOnTestS3 } from '../support/compose-s3.ts';
import { form, png } from '../support/payloads.ts';
import { emptyAndDeleteBucket, listAllKeys, listMultipartUploads } from '../support/s3-admin.ts';
import { runScript } from '../support/script.ts';
import { slowUpload } from '../support/slow-upload.ts';
import { freePort } from '../support/stowage-process.ts';
import { hostNetwork } from './host-network.ts';

/**
 * The shipped Dockerfile, built and run on the private engine test/image/global-setup.ts starts, on
 * a stand-in for node:24-slim (test/support/node-base-image.sh: no registry is reachable) passed as
 * NODE_IMAGE. Every build and container uses the host's network (the engine has no bridge), and
 * every container listens on loopback only. Against the image: the embedded default, and the compose
 * file's environment for the stowage service against the test S3 server instead of MinIO (which
 * cannot run here); what MinIO's side does (its image, `mc`, the ILM import) stays unproven.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const engine = inject('docker');
const host = 'host' in engine ? engine.host : undefined;
const SANDBOX_KEY = 'stw_demo-only-do-not-use-in-production';
const tag = `stowage-test/stowage:${process.pid}`;
const containers: string[] = [];
const buckets: string[] = [];

/** The docker CLI on the private engine; its stdout, trimmed. */
async function docker(...args: string[]): Promise<string> {
  const env = { PATH: process.env.PATH ?? '', DOCKER_HOST: host ?? '', DOCKER_BUILDKIT: '1' };
  const { stdout } = await run('/usr/bin/docker', args, { env, maxBuffer: 64 << 20 });
  return stdout.trim();
}

/** The exit code of a command inside a running container (0 = it succeeded). */
const execCode = (name: string, command: string[]): Promise<number> =>
  docker('exec', name, ...command).then(
    () => 0,
    (error: { code?: number }) => error.code ?? 1,
  );

/** Starts the image detached on the host's network; removed after the file. */
async function start(name: string, options: string[], env: Record<string, string>): Promise<string> {
  const full = `stowage-image-${name}-${process.pid}`;
  containers.push(full);
  const envArgs = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  await docker('run', '-d', '--name', full, '--network', 'host', ...options, ...envArgs, tag);
  return full;
}

async function waitForHealthz(url: string, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (
    !(await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error(`${name} never answered:\n${await docker('logs', name)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The compose CLI there is: Compose v2 (`docker compose`) or Debian's docker-compose v1. */
async function composeCli(): Promise<string[] | undefined> {
  for (const candidate of [['/usr/bin/docker', 'compose'], ['docker-compose']]) {
    try {
      await run(candidate[0]!, [...candidate.slice(1), 'version']);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** docker-compose.yml as the compose CLI resolves it, with nothing set on the host. */
async function composeConfig(cli: string[], ...args: string[]) {
  const { stdout, stderr } = await run(
    cli[0]!,
    [...cli.slice(1), '-f', `${root}docker-compose.yml`, 'config', ...args],
    { env: { PATH: process.env.PATH ?? '' } },
  );
  return { stdout, stderr };
}

function needsEngine(context: TestContext): void {
  if ('unavailable' in engine) context.skip(`no Docker engine: ${engine.unavailable}`);
}

describe('docker-compose.yml', () => {
  it('passes the compose CLI’s own validation (`config -q`)', async (context) => {
    const cli = await composeCli();
    if (!cli) return context.skip('no compose CLI (docker compose or docker-compose) on this machine');
    const { stderr } = await composeConfig(cli, '-q');
    expect(stderr).not.toMatch(/error|warn/i);
  });
});

describe('the image', () => {
  beforeAll(async () => {
    if (!host) {
      process.stderr.write(`[image] skipped: ${'unavailable' in engine ? engine.unavailable : ''}\n`);
      return;
    }
    const t0 = Date.now();
    const script = fileURLToPath(new URL('../support/node-base-image.sh', import.meta.url));
    const base = await runScript(script, [host]);
    if (base.code !== 0) throw new Error(`node-base-image.sh failed (exit ${base.code})`);
    const nodeImage = base.stdout.trim();
    const t1 = Date.now();
    await docker('build', '--network', 'host', '--build-arg', `NODE_IMAGE=${nodeImage}`, '-t', tag, root);
    process.stderr.write(
      `[image] base ${nodeImage} in ${t1 - t0} ms, ${tag} built in ${Date.now() - t1} ms\n`,
    );
  }, 900_000);

  afterAll(async () => {
    if (!host) return;
    await Promise.all(containers.map((name) => docker('rm', '-f', '-v', name).catch(() => {})));
    await docker('rmi', tag).catch(() => {});
    await Promise.all(buckets.map((bucket) => emptyAndDeleteBucket(bucket)));
  });

  it('runs the embedded default as uid 1000 with its code read-only, serves a presigned read, and its HEALTHCHECK turns healthy', async (context) => {
    needsEngine(context);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // No STOWAGE_CONFIG: the embedded default, which refuses the image's HOST=0.0.0.0 (no credentials).
    const name = await start('default', [], { STOWAGE_CONFIG: '', HOST: '127.0.0.1', PORT: String(port) });
    await waitForHealthz(url, name);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const data = png(3000);
    const upload = await fetch(`${url}/v1/storages/private/objects`, {
      method: 'POST',
      body: form({ name: 'pixel.png', type: 'image/png', data }),
    });
    expect(upload.status).toBe(201);
    const { objects } = (await upload.json()) as { objects: Array<{ key: string }> };
    const link = await fetch(`${url}/v1/storages/private/urls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: objects[0]?.key }),
    });
    expect(link.status).toBe(200);
    const read = await fetch(((await link.json()) as { url: string }).url);
    expect(read.status).toBe(200);
    expect((await bytesOf(read)).equals(data)).toBe(true);

    // PID 1 is node itself (exec-form CMD), as uid and gid 1000.
    const cmdline = (await docker('exec', name, 'cat', '/proc/1/cmdline')).split('\0').filter(Boolean);
    expect(cmdline).toEqual(
      JSON.parse(/^CMD (.*)$/m.exec(await readFile(`${root}Dockerfile`, 'utf8'))?.[1] ?? '0'),
    );
    const status = await docker('exec', name, 'cat', '/proc/1/status');
    expect(status).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    expect(status).toMatch(/^Gid:\s+1000\s+1000\s+1000\s+1000$/m);
    // The code and dependencies are root's; only /app/data (the local driver's root) is writable.
    const tryWrite = (path: string) =>
      execCode(name, ['node', '-e', `require('fs').appendFileSync(${JSON.stringify(path)}, '')`]);
    for (const path of [
      '/app/src/server.ts',
      '/app/package.json',
      '/app/node_modules/fastify/package.json',
    ]) {
      expect(await tryWrite(path), path).not.toBe(0);
    }
    expect(await tryWrite('/app/src/new-file.ts')).not.toBe(0);
    expect(await tryWrite('/app/data/probe')).toBe(0);

    // The image's own HEALTHCHECK (first run one interval, 15s, after the start).
    const deadline = Date.now() + 60_000;
    let health = '';
    while (health !== 'healthy' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      health = await docker('inspect', '-f', '{{.State.Health.Status}}', name);
    }
    expect(health).toBe('healthy');
  });

  describe("with the compose file's environment for the stowage service, against the test S3 server", () => {
    let env: Record<string, string> = {};
    let readiness: string[] = [];

    beforeAll(async () => {
      if (!host) return;
      const cli = await composeCli();
      if (!cli) throw new Error('no compose CLI: test/support/docker-engine.sh installs docker-compose');
      const { stdout } = await composeConfig(cli);
      const stowage = (
        parse(stdout) as {
          services: { stowage: { environment: Record<string, string>; healthcheck: { test: string[] } } };
        }
      ).services.stowage;
      readiness = stowage.healthcheck.test;
      const onTestS3 = await composeOnTestS3(inject('s3'), 'image');
      buckets.push(...onTestS3.buckets);
      env = {
        ...stowage.environment,
        // The test S3 server instead of MinIO, its buckets, and loopback only on a free port.
        ...onTestS3.env,
        HOST: '127.0.0.1',
      };
    });

    /** A container hardened as a careful deployment would: read-only root, no capabilities, 256 MiB. */
    async function startCompose(name: string): Promise<{ name: string; url: string; port: number }> {
      const port = await freePort();
      const options = ['--read-only', '--cap-drop', 'ALL', '--memory', '256m'];
      const full = await start(name, options, { ...env, PORT: String(port) });
      const url = `http://127.0.0.1:${port}`;
      await waitForHealthz(url, full);
      return { name: full, url, port };
    }

    it('is ready on the example config, takes the sandbox key, refuses anonymous writes, serves a presigned read', async (context) => {
      needsEngine(context);
      expect(env.STOWAGE_CONFIG).toBe('/app/stowage.example.yaml');
      const { name, url, port } = await startCompose('compose');
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      // compose's own readiness healthcheck, run inside the container (its port is ours here)
      expect(readiness[0]).toBe('CMD');
      const probe = readiness.slice(1).map((part) => part.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
      expect(await execCode(name, probe)).toBe(0);

      const authorization = `Bearer ${SANDBOX_KEY}`;
      const data = png(5000);
      const anonymous = await fetch(`${url}/v1/storages/private/objects`, {
        method: 'POST',
        body: form({ name: 'pixel.png', type: 'image/png', data }),
      });
      expect(anonymous.status).toBe(401);
      const upload = await fetch(`${url}/v1/storages/private/objects`, {
        method: 'POST',
        headers: { authorization },
        body: form({ name: 'pixel.png', type: 'image/png', data }),
      });
      expect(upload.status).toBe(201);
      const [stored] = ((await upload.json()) as { objects: Array<{ key: string }> }).objects;
      expect(await listAllKeys(buckets[1]!)).toEqual([stored?.key]);
      const link = await fetch(`${url}/v1/storages/private/urls`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ key: stored?.key }),
      });
      expect(link.status).toBe(200);
      const signed = ((await link.json()) as { url: string }).url;
      // presigned by the S3 server itself, at the public endpoint
      expect(signed.startsWith(`${env.S3_PUBLIC_ENDPOINT}/`)).toBe(true);
      const read = await fetch(signed);
      expect(read.status).toBe(200);
      expect((await bytesOf(read)).equals(data)).toBe(true);
    });

    it('`docker stop -t 30` during a slow upload: exit 0, nothing partial stored, no multipart upload left', async (context) => {
      needsEngine(context);
      const { name, url } = await startCompose('stop');
      const exports = buckets[2]!;
      // exports has 16 MiB parts: 24 MiB sent means a multipart upload is open with a part in it. A
      // body of unknown length (chunked): one with a Content-Length would stream as one PutObject.
      const upload = slowUpload(url, '/v1/storages/exports/objects/interrupted.bin', 64 << 20, {
        authorization: `Bearer ${SANDBOX_KEY}`,
        'transfer-encoding': 'chunked',
      });
      await upload.send(24 << 20);
      const deadline = Date.now() + 30_000;
      while ((await listMultipartUploads(exports)).length === 0) {
        if (Date.now() > deadline) throw new Error('no multipart upload started');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      // The upload never finishes: the grace period (25s) runs out and the server aborts it. The
      // client then goes, as curl or a browser does on an error answer mid-body (one that went on
      // sending would hold its connection until the server's final cut, 5 s later: past -t 30).
      const t0 = Date.now();
      const stopped = docker('stop', '-t', '30', name);
      const answer = await upload.response;
      upload.abort();
      await stopped;
      process.stderr.write(`[image] docker stop -t 30 mid-upload took ${Date.now() - t0} ms\n`);
      expect([503, 0]).toContain(answer.status);
      const state = JSON.parse(await docker('inspect', '-f', '{{json .State}}', name)) as {
        ExitCode: number;
        OOMKilled: boolean;
      };
      expect(state, await docker('logs', '--tail', '20', name)).toMatchObject({
        ExitCode: 0,
        OOMKilled: false,
      });
      expect(await listAllKeys(exports)).toEqual([]);
      expect(await listMultipartUploads(exports)).toEqual([]);
    });
  });

  it("left the host's network as it was: interfaces, routes, forwarding, iptables rules", async (context) => {
    needsEngine(context);
    if (!('networkBefore' in engine)) return;
    const { iptables, ...now } = await hostNetwork();
    const { iptables: iptablesBefore, ...before } = engine.networkBefore;
    expect(now).toEqual(before);
    // a fresh machine gets iptables with docker.io: there is nothing to compare it with then
    if (iptablesBefore !== null) expect(iptables).toBe(iptablesBefore);
  });
});
