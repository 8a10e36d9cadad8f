import { type ChildProcess, spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3TestServer } from './s3-server.ts';

/**
 * Stowage as a real process (src/server.ts with a JSON config), for suites that measure it from the
 * outside: its pid for /proc, its exit, and what it logged. Logs are kept (the last lines) so a test
 * can show why the process died or count the errors it logged.
 */
export interface StowageProcess {
  readonly url: string;
  readonly pid: number;
  /** The exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** True while the process runs. */
  alive(): boolean;
  /** The inspector's WebSocket URL when started with `inspect` (see inspector.ts). */
  readonly inspectorUrl: string | undefined;
  /** The last log lines (stdout and stderr), oldest first. */
  logs(): string[];
  /** SIGKILL if still running, and the config file removed. */
  kill(): Promise<void>;
}

const KEPT_LOG_LINES = 2000;
const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));

/** The `s3` connection block of a config for the test S3 server. */
export const s3Connection = (server: S3TestServer) => ({
  endpoint: server.endpoint,
  region: server.region,
  forcePathStyle: server.forcePathStyle,
  credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
});

export const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

export interface ProcessOptions {
  /** A name for the config file and messages. */
  label: string;
  /** Start with --inspect on a free loopback port, to force a collection before measuring memory. */
  inspect?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** Starts src/server.ts with `config` (its server.host/port filled in) and waits for /healthz. */
export async function startStowageProcess(
  config: { server?: Record<string, unknown> } & Record<string, unknown>,
  { label, inspect = false, env = {} }: ProcessOptions,
): Promise<StowageProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configPath = join(tmpdir(), `stowage-${label}-${process.pid}-${port}.json`);
  await writeFile(
    configPath,
    JSON.stringify({ ...config, server: { ...config.server, host: '127.0.0.1', port } }),
  );
  const child = spawn(process.execPath, [...(inspect ? ['--inspect=127.0.0.1:0'] : []), SERVER], {
    env: { ...process.env, ...env, STOWAGE_CONFIG: configPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let inspectorUrl: string | undefined;
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
    inspectorUrl ??= /Debugger listening on (ws:\S+)/.exec(chunk.toString('utf8'))?.[1];
    if (lines.length > KEPT_LOG_LINES) lines.splice(0, lines.length - KEPT_LOG_LINES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle: StowageProcess = {
    url,
    pid: child.pid as number,
    exited,
    get inspectorUrl() {
      return inspectorUrl;
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    logs: () => [...lines],
    kill: async () => {
      if (handle.alive()) child.kill('SIGKILL');
      await exited;
      await rm(configPath, { force: true });
    },
  };
  await untilHealthy(handle, child);
  return handle;
}

async function untilHealthy(handle: StowageProcess, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    if (!handle.alive()) break;
    const healthy = await fetch(`${handle.url}/healthz`)
      .then((response) => response.ok)
      .catch(() => false);
    if (healthy) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await handle.kill();
  throw new Error(`stowage (pid ${child.pid}) did not start:\n${handle.logs().slice(-20).join('\n')}`);
}
