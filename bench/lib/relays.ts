import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { resolveS3Connection, s3ClientConfig } from '../../src/storage/drivers/s3/connection.ts';
import type { BenchContext } from './context.ts';
import { pinProxy } from './pinning.ts';
import type { S3Side } from './s3.ts';
import { freePort } from './stowage.ts';

/**
 * Reference proxies between the direct client and S3, to tell the cost of a proxy hop on this
 * machine from the cost of Stowage: a bare TCP relay in Node (bench/relay/tcp-relay.ts), and nginx as
 * an HTTP reverse proxy (streaming both ways, keep-alive upstream) when `nginx` is installed. The
 * direct client talks to them exactly as it talks to S3 (SigV4 signs the Host header, which both pass
 * through unchanged).
 */

export interface Relay {
  name: string;
  /** The one process doing the relaying, for its CPU. */
  pid: number;
  /** A direct S3 client (configured like Stowage's) whose endpoint is the relay. */
  client: S3Client;
  stop(): Promise<void>;
}

const clientThrough = (s3: S3Side, endpoint: string) => {
  const resolved = resolveS3Connection({ ...s3.connection, endpoint });
  return new S3Client(s3ClientConfig(resolved, endpoint));
};

export const stopChild = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

const relayOf = (name: string, child: ChildProcess, client: S3Client, cleanUp = () => {}): Relay => ({
  name,
  pid: child.pid as number,
  client,
  async stop() {
    client.destroy();
    await stopChild(child);
    cleanUp();
  },
});

/**
 * Starts one of bench/relay/*.ts as a child process (with `env` added to this one's environment);
 * resolves once it printed the port it listens on.
 */
export async function startNodeChild(
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [new URL(`../relay/${script}`, import.meta.url).pathname, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (data: Buffer) => resolve(Number(String(data).trim())));
    child.once('exit', (code) => reject(new Error(`${script} exited (${code})`)));
  });
  return { child, port };
}

async function tcpRelay(s3: S3Side): Promise<Relay> {
  const target = new URL(s3.connection.endpoint);
  const { child, port } = await startNodeChild('tcp-relay.ts', [target.hostname, target.port || '80']);
  return relayOf('TCP relay (Node net)', child, clientThrough(s3, `http://127.0.0.1:${port}`));
}

const hasNginx = () => {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** One process (no master), streaming request and response bodies, keep-alive to S3. */
const nginxConfig = (dir: string, port: number, target: URL) => `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream s3 { server ${target.host}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    keepalive_requests 100000;
    location / {
      proxy_pass http://s3;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`;

async function nginxRelay(s3: S3Side): Promise<Relay> {
  const dir = mkdtempSync(join(tmpdir(), 'stowage-bench-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, new URL(s3.connection.endpoint)));
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'inherit' });
  await waitForPort(port, child);
  return relayOf('nginx (HTTP reverse proxy)', child, clientThrough(s3, `http://127.0.0.1:${port}`), () =>
    rmSync(dir, { recursive: true, force: true }),
  );
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode})`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      }).on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not listen on ${port}`);
}

/** The reference proxies this machine has (the TCP relay always; nginx when installed). */
export async function startRelays(context: BenchContext): Promise<Relay[]> {
  const relays = [await tcpRelay(context.s3)];
  if (hasNginx()) relays.push(await nginxRelay(context.s3));
  else context.log('nginx is not installed: no nginx row (apt-get install nginx-light)');
  // --pinned, --s3-apart: on Stowage's core, like Stowage.
  if (context.options.layout !== 'shared') for (const relay of relays) pinProxy(relay.pid);
  return relays;
}

/** Runs `body` with the reference proxies, and stops them afterwards. */
export async function withRelays<T>(
  context: BenchContext,
  body: (relays: Relay[]) => Promise<T>,
): Promise<T> {
  const relays = await startRelays(context);
  try {
    return await body(relays);
  } finally {
    await Promise.all(relays.map((relay) => relay.stop()));
  }
}
