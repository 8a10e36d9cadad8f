import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { bucketLifecycle } from '../../src/cli/bucket-settings.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { composeOnTestS3 } from '../support/compose-s3.ts';
import { form, png } from '../support/payloads.ts';
import { emptyAndDeleteBucket } from '../support/s3-admin.ts';
import { freePort } from '../support/stowage-process.ts';

/**
 * The deployment files, read as files: the compose file's shape and wiring, the example config
 * loading with the environment compose gives Stowage, and the image's exact CMD and HEALTHCHECK run
 * under plain Node against the real S3 server — healthy, ready, serving the compose sandbox key, and
 * stopping with exit 0 on SIGTERM. The built image itself, on a Docker engine, and the compose CLI's
 * validation are test/image's; what stays unproven is the MinIO side.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

interface Service {
  image?: string;
  build?: string | { context: string };
  environment?: Record<string, string | number | boolean>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
  command?: string[] | string;
  stop_grace_period?: string;
}
interface Compose {
  services: Record<string, Service>;
}

/** Compose's own interpolation of values: `${VAR:-default}`, `${VAR-default}`, `${VAR}`, `$$`. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_]\w*)(?:(:?-)([^}]*))?\}/g,
    (match, name?: string, op?: string, fallback?: string) => {
      if (match === '$$') return '$';
      const found = env[name as string];
      if (op === ':-') return found ? found : (fallback ?? '');
      if (op === '-') return found ?? fallback ?? '';
      return found ?? '';
    },
  );
}

/** A service's environment as the container sees it, with nothing set on the host. */
const environmentOf = (service: Service | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(service?.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), {})]),
  );

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(dockerfile: string): Array<{ op: string; args: string }> {
  const joined = dockerfile.replace(/\\\n(\s*#.*\n)*/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

/** `ENV A=1 B=2` (the form the Dockerfile uses). */
const envOf = (args: string) =>
  Object.fromEntries(
    [...args.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]),
  );

// Compose resolves YAML merge keys (`<<: *s3`), a YAML 1.1 feature the yaml package needs asked for.
const compose = async () =>
  parse(await readFile(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as Compose;
const dockerfile = async () => instructions(await readFile(`${root}Dockerfile`, 'utf8'));

/** The variables stowage.example.yaml cannot do without (`${VAR}` with no default). */
async function requiredVariables(): Promise<string[]> {
  const text = await readFile(`${root}stowage.example.yaml`, 'utf8');
  const uncommented = text.replace(/#.*$/gm, '');
  return [...uncommented.matchAll(/\$\{([A-Za-z_]\w*)\}/g)].map((m) => m[1]!);
}

describe('docker-compose.yml', () => {
  it('runs MinIO, a one-shot init for the example buckets, then Stowage once both are ready', async () => {
    const { services } = await compose();
    expect(Object.keys(services).sort()).toEqual(['minio', 'minio-init', 'stowage']);
    expect(services.minio?.image).toMatch(/^quay\.io\/minio\/minio:RELEASE\./);
    expect(services.minio?.healthcheck?.test).toBeDefined();
    expect(services.stowage?.build).toBe('.');
    expect(services.stowage?.healthcheck?.test).toBeDefined();
    expect(services.stowage?.depends_on).toEqual({
      minio: { condition: 'service_healthy' },
      'minio-init': { condition: 'service_completed_successfully' },
    });
    expect(services['minio-init']?.depends_on).toEqual({ minio: { condition: 'service_healthy' } });
    // Longer than the 25s the server gives in-flight uploads on SIGTERM.
    expect(Number.parseInt(services.stowage?.stop_grace_period ?? '0', 10)).toBeGreaterThan(25);

    const init = [services['minio-init']?.command].flat().join('\n');
    const initEnv = environmentOf(services['minio-init']);
    const stowageEnv = environmentOf(services.stowage);
    for (const bucket of ['MEDIA_BUCKET', 'PRIVATE_BUCKET', 'EXPORTS_BUCKET']) {
      expect(init).toContain(`$$${bucket}`);
      expect(initEnv[bucket], bucket).toBe(stowageEnv[bucket]);
    }
    expect(init).toMatch(/mc mb --ignore-existing/);
    // The rules are exactly what `stowage bucket-lifecycle` prints for the default resumable expiry.
    const rule = (name: string) =>
      JSON.parse(new RegExp(`^\\s*${name}='(.*)'$`, 'm').exec(init)?.[1] ?? 'null');
    expect([rule('abort'), rule('state'), rule('staging')]).toEqual(bucketLifecycle().Rules);
    expect(init).toMatch(/mc ilm import/);
    expect(init).toMatch(/mc anonymous set download "sandbox\/\$\$MEDIA_BUCKET\/uploads"/);
    // Stowage signs in with MinIO's root user.
    expect(stowageEnv.AWS_ACCESS_KEY_ID).toBe(initEnv.MINIO_ROOT_USER);
    expect(stowageEnv.AWS_SECRET_ACCESS_KEY).toBe(initEnv.MINIO_ROOT_PASSWORD);
  });

  it('gives Stowage every variable the example config reads, and the config loads with them', async () => {
    const env = environmentOf((await compose()).services.stowage);
    const required = await requiredVariables();
    expect(required.length).toBeGreaterThan(0);
    const read = [
      'AWS_ENDPOINT_URL_S3',
      'AWS_REGION',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'S3_FORCE_PATH_STYLE',
    ];
    for (const name of [...required, ...read]) expect(env[name], name).toBeTruthy();
    expect(env.STOWAGE_CONFIG).toBe('/app/stowage.example.yaml');

    const config = await loadConfigFile(`${root}stowage.example.yaml`, env);
    expect(Object.keys(config.storages).sort()).toEqual(['exports', 'media', 'private']);
    expect(config.s3).toMatchObject({
      endpoint: 'http://minio:9000',
      publicEndpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
    });
    for (const [name, profile] of Object.entries(config.storages)) {
      expect(profile.driver === 's3' && profile.bucket, name).toBe(env[`${name.toUpperCase()}_BUCKET`]);
    }
  });
});

describe('Dockerfile', () => {
  it('is multi-stage on node:24-slim with production dependencies only, runs as non-root, exec-form CMD', async () => {
    const steps = await dockerfile();
    const from = steps.filter((step) => step.op === 'FROM').map((step) => step.args);
    expect(from.length).toBeGreaterThanOrEqual(2);
    expect(steps.find((step) => step.op === 'ARG')?.args).toBe('NODE_IMAGE=node:24-slim');
    expect(steps.some((step) => step.op === 'RUN' && /npm ci --omit=dev/.test(step.args))).toBe(true);
    const users = steps.filter((step) => step.op === 'USER').map((step) => step.args);
    expect(users.at(-1)).toBe('node');
    expect(steps.find((step) => step.op === 'EXPOSE')?.args).toBe('8080');
    expect(steps.find((step) => step.op === 'HEALTHCHECK')?.args).toMatch(/^--interval=\S+ .*CMD \[/);
    const cmd = JSON.parse(steps.findLast((step) => step.op === 'CMD')?.args ?? 'null') as string[];
    expect(cmd).toEqual([
      'node',
      '--max-semi-space-size=2',
      '--experimental-strip-types',
      '--disable-warning=ExperimentalWarning',
      'src/server.ts',
    ]);
    // The V8 tuning the image runs with is the one `npm start` runs with (bench/README.md, issue 13).
    const scripts = (
      JSON.parse(await readFile(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    for (const flag of cmd.filter((arg) => arg.startsWith('--max-'))) {
      expect(scripts.start?.split(' ')).toContain(flag);
      expect(scripts.dev?.split(' ')).toContain(flag);
    }
    const copied = steps.filter((step) => step.op === 'COPY').map((step) => step.args);
    expect(copied).toEqual(expect.arrayContaining(['package.json stowage.example.yaml ./', 'src ./src']));
    // No `# syntax=` directive: it makes BuildKit pull a frontend image, so no offline build.
    expect(await readFile(`${root}Dockerfile`, 'utf8')).not.toMatch(/^#\s*syntax\s*=/im);
    const ignore = await readFile(`${root}.dockerignore`, 'utf8');
    expect(ignore.split('\n')).toEqual(
      expect.arrayContaining(['*', '!package.json', '!package-lock.json', '!src/']),
    );
  });
});

describe("the image's command under plain Node", () => {
  const buckets: string[] = [];
  afterAll(async () => {
    await Promise.all(buckets.map((bucket) => emptyAndDeleteBucket(bucket)));
  });

  it('starts with the compose environment, is healthy and ready, serves the sandbox key, stops on SIGTERM', async () => {
    const server = inject('s3');
    const steps = await dockerfile();
    const cmd = JSON.parse(steps.findLast((step) => step.op === 'CMD')?.args ?? '[]') as string[];
    const healthcheck = JSON.parse(
      /CMD (\[.*\])$/.exec(steps.find((s) => s.op === 'HEALTHCHECK')?.args ?? '')?.[1] ?? '[]',
    ) as string[];
    const imageEnv = Object.assign(
      {},
      ...steps.filter((s) => s.op === 'ENV').map((s) => envOf(s.args)),
    ) as Record<string, string>;
    const composeEnv = environmentOf((await compose()).services.stowage);
    const onTestS3 = await composeOnTestS3(server, 'deploy');
    buckets.push(...onTestS3.buckets);
    const port = await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...imageEnv,
      ...composeEnv,
      // WORKDIR /app is the repository root here; the S3 side is the test server instead of MinIO.
      STOWAGE_CONFIG: (composeEnv.STOWAGE_CONFIG ?? '').replace(/^\/app\//, root),
      HOST: '127.0.0.1',
      PORT: String(port),
      ...onTestS3.env,
    };
    expect(cmd[0]).toBe('node');
    const child = spawn(process.execPath, cmd.slice(1), {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitFor(`${url}/healthz`, 20_000, () => output.join(''));
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status, output.join('')).toBe(200);

      // The image's HEALTHCHECK, exactly as Docker would run it inside the container.
      const probe = await run(process.execPath, healthcheck.slice(1), { env: { PORT: String(port) } }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? 1,
      );
      expect(probe).toBe(0);

      const upload = await fetch(`${url}/v1/storages/media/objects`, {
        method: 'POST',
        headers: { authorization: 'Bearer stw_demo-only-do-not-use-in-production' },
        body: form({ name: 'pixel.png', type: 'image/png', data: png(2000) }),
      });
      expect(upload.status).toBe(201);
      const anonymous = await fetch(`${url}/v1/storages/private/objects`, {
        method: 'POST',
        body: form({ name: 'pixel.png', type: 'image/png', data: png(2000) }),
      });
      expect(anonymous.status).toBe(401);

      child.kill('SIGTERM');
      expect(await exited, output.join('')).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

async function waitFor(url: string, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
