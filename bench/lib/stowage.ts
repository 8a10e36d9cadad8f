import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployedNodeFlags } from './deployed-flags.ts';
import type { S3Side } from './s3.ts';

/**
 * Stowage as a child process (`node <the Dockerfile's flags> src/server.ts`), exactly as it is deployed, with one S3 storage
 * `bench` on the given bucket. Requests carry an API key (the service path). The upload limits are
 * raised so admission control never throttles the benchmark itself (see bench/README.md), unless
 * the scenario (`limits`) or STOWAGE_BENCH_DEFAULT_LIMITS asks for the shipped ones.
 */

export interface StowageOptions {
  bucket: string;
  /** The Stowage tree to run (default: stowageRoot). */
  root?: string;
  /** Extra node flags for the child, e.g. --cpu-prof (also from STOWAGE_BENCH_NODE_ARGS). */
  nodeArgs?: string[];
  /** Pin the child to these CPUs (taskset list, e.g. "1"). */
  cpus?: string;
  /** Default: STOWAGE_BENCH_LOG_LEVEL, else info (what a deployment logs), written to a file. */
  logLevel?: string;
  /** Overrides of the storage profile (partSize, queueSize, overwrite…). */
  profile?: Record<string, unknown>;
  /**
   * `shipped`: the schema's admission limits (no `limits` block, as in stowage.example.yaml);
   * `raised`: uploadMemory 16GiB, uploadsPerPrincipal 1024. Default: shipped when
   * STOWAGE_BENCH_DEFAULT_LIMITS is set, else raised.
   */
  limits?: 'shipped' | 'raised';
  /** How many API keys (principals) the config has, for loads above uploadsPerPrincipal (default 1). */
  apiKeys?: number;
}

export interface Stowage {
  pid: number;
  origin: string;
  /** Authorization header value (of the first API key). */
  authorization: string;
  /** One Authorization header value per API key (principal), the first being `authorization`. */
  authorizations: string[];
  stop(): Promise<void>;
}

/** The Stowage tree to run: this one, or another checkout (STOWAGE_BENCH_ROOT) to compare versions. */
export const stowageRoot = process.env.STOWAGE_BENCH_ROOT || new URL('../../', import.meta.url).pathname;

/** A port nothing listens on now (the kernel's choice). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

const childEnv = (): Record<string, string> =>
  Object.fromEntries(
    (process.env.STOWAGE_BENCH_ENV ?? '')
      .split(/\s+/)
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );

/**
 * STOWAGE_BENCH_S3='{"signPayload":false}': connection fields for this tree's child; for the "(before)"
 * tree's child STOWAGE_BENCH_BEFORE_S3, since that schema may not know them.
 */
const connectionOverrides = (options: StowageOptions): Record<string, unknown> => {
  const fields =
    options.root === undefined ? process.env.STOWAGE_BENCH_S3 : process.env.STOWAGE_BENCH_BEFORE_S3;
  return fields ? JSON.parse(fields) : {};
};

const logLevel = (options: StowageOptions) =>
  options.logLevel ?? process.env.STOWAGE_BENCH_LOG_LEVEL ?? 'info';

/** Whether a Stowage with these options runs with the shipped admission limits. */
export const shippedLimits = (options: Pick<StowageOptions, 'limits'>): boolean =>
  (options.limits ?? (process.env.STOWAGE_BENCH_DEFAULT_LIMITS ? 'shipped' : 'raised')) === 'shipped';

/** The config document of a bench Stowage (also used to build its storages in-process), and its API keys. */
export function benchConfig(
  s3: S3Side,
  options: StowageOptions,
): { document: Record<string, unknown>; apiKeys: string[] } {
  const apiKeys = Array.from(
    { length: options.apiKeys ?? 1 },
    () => `stw_${randomBytes(32).toString('base64url')}`,
  );
  const document = {
    server: { host: '127.0.0.1', logLevel: logLevel(options) },
    s3: { ...s3.connection, ...connectionOverrides(options) },
    // The shipped admission limits are the schema's (stowage.example.yaml has no `limits` block).
    ...(!shippedLimits(options) && { limits: { uploadMemory: '16GiB', uploadsPerPrincipal: 1024 } }),
    auth: {
      apiKeys: apiKeys.map((apiKey, index) => ({
        name: index === 0 ? 'bench' : `bench-${index + 1}`,
        hash: `sha256:${createHash('sha256').update(apiKey).digest('hex')}`,
        grants: ['*:*'],
      })),
    },
    storages: {
      bench: { driver: 's3', bucket: options.bucket, maxFileSize: '5GiB', ...options.profile },
    },
  };
  return { document, apiKeys };
}

export async function startStowage(s3: S3Side, options: StowageOptions): Promise<Stowage> {
  const dir = mkdtempSync(join(tmpdir(), 'stowage-bench-'));
  const { document, apiKeys } = benchConfig(s3, options);
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(document));
  const port = await freePort();
  const logPath = join(dir, 'stowage.log');
  const log = openSync(logPath, 'w');
  const root = options.root ?? stowageRoot;
  const nodeArgs = [
    ...deployedNodeFlags(root),
    ...(process.env.STOWAGE_BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
    ...(options.nodeArgs ?? []),
  ];
  const args = [...nodeArgs, 'src/server.ts'];
  const [command, commandArgs] = options.cpus
    ? ['taskset', ['-c', options.cpus, process.execPath, ...args]]
    : [process.execPath, args];
  const child: ChildProcess = spawn(command as string, commandArgs as string[], {
    cwd: root,
    env: {
      ...process.env,
      // STOWAGE_BENCH_ENV="NAME=value …": extra environment for this tree's child only (not "(before)").
      ...(options.root === undefined && childEnv()),
      STOWAGE_CONFIG: configPath,
      PORT: String(port),
      LOG_LEVEL: logLevel(options),
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const origin = `http://127.0.0.1:${port}`;
  const tail = () => readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`Stowage exited at startup:\n${tail()}`);
    const ok = await fetch(`${origin}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) break;
    if (attempt > 150) {
      child.kill('SIGKILL');
      throw new Error(`Stowage did not become healthy:\n${tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    pid: child.pid ?? 0,
    origin,
    authorization: `Bearer ${apiKeys[0]}`,
    authorizations: apiKeys.map((apiKey) => `Bearer ${apiKey}`),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (process.env.STOWAGE_BENCH_KEEP_LOGS) process.stderr.write(`[bench] Stowage's output: ${logPath}\n`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}
