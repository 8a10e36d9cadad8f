import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackage } from './debian-packages.ts';
import { freePort } from './stowage-process.ts';

/**
 * Debian's nginx (`nginx-light`, installed on first use like Chromium) as a load balancer on
 * loopback: round robin over `upstreams`, everything it writes (config, pid, logs, temp paths) in a
 * directory of its own, so it never touches /etc/nginx or /var/log/nginx and runs beside any other.
 */
export interface Nginx {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** nginx's access log: one line per request, `<method> <status> <upstream address(es)>`. */
  accessLog(): Promise<string[]>;
  stop(): Promise<void>;
}

const NGINX = '/usr/sbin/nginx';

export interface NginxOptions {
  /** Request headers nginx sets on what it passes on, e.g. `X-Forwarded-Proto` as a TLS proxy does. */
  headers?: Record<string, string>;
}

export async function startNginx(upstreams: readonly string[], options: NginxOptions = {}): Promise<Nginx> {
  const binary = await ensureDebianPackage(NGINX, 'nginx-light');
  const directory = await mkdtemp(join(tmpdir(), 'stowage-nginx-'));
  // Workers run as `nobody` when nginx starts as root: they must reach the temp paths in here.
  await chmod(directory, 0o755);
  const port = await freePort();
  const file = join(directory, 'nginx.conf');
  await writeFile(file, nginxConfig(directory, port, upstreams, options.headers ?? {}));
  const child = spawn(binary, ['-p', directory, '-c', file, '-e', join(directory, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await untilListening(url, child, () => stderr, directory);
  return {
    url,
    accessLog: async () =>
      (await readFile(join(directory, 'access.log'), 'utf8')).split('\n').filter((line) => line !== ''),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function nginxConfig(
  directory: string,
  port: number,
  upstreams: readonly string[],
  headers: Record<string, string>,
): string {
  const path = (name: string) => join(directory, name);
  const setHeaders = Object.entries(headers)
    .map(([name, value]) => `\n      proxy_set_header ${name} "${value}";`)
    .join('');
  return `daemon off;
worker_processes 1;
pid ${path('nginx.pid')};
error_log ${path('error.log')} warn;
events { worker_connections 256; }
http {
  log_format upstreams '$request_method $status $upstream_addr';
  access_log ${path('access.log')} upstreams;
  client_body_temp_path ${path('client-body')};
  proxy_temp_path ${path('proxy')};
  fastcgi_temp_path ${path('fastcgi')};
  uwsgi_temp_path ${path('uwsgi')};
  scgi_temp_path ${path('scgi')};
  # Round robin is nginx's default; a dead instance is skipped (connection refused: the next one
  # gets the request) and tried again after fail_timeout.
  upstream stowage {
${upstreams.map((address) => `    server ${address};`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://stowage;
      # The client's Host, not the upstream group's name: Stowage builds the upload's Location from it.
      proxy_set_header Host $http_host;
      # Stowage enforces its own limits (Upload-Length against maxFileSize, PATCH past the length);
      # nginx's default of 1m would refuse every chunk bigger than that with its own 413.
      client_max_body_size 0;
      # Stream each PATCH body to Stowage as it arrives. Buffering it (the default) would spool every
      # chunk to nginx's temp disk and send it only once complete: the client's bytes would not reach
      # the instance, and so S3, until the whole chunk had, and memory or disk would grow with
      # the chunk size (tus-js-client's default chunkSize is unlimited).
      proxy_request_buffering off;
      # tus-js-client in Node sends PATCH bodies chunked; nginx streams a chunked body only over
      # HTTP/1.1 to the upstream (with 1.0 it buffers it whatever proxy_request_buffering says).
      proxy_http_version 1.1;
      proxy_set_header Connection "";${setHeaders}
    }
  }
}
`;
}

async function untilListening(
  url: string,
  child: ChildProcess,
  stderr: () => string,
  directory: string,
): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    const up = await fetch(`${url}/healthz`).then(
      () => true,
      () => false,
    );
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const log = await readFile(join(directory, 'error.log'), 'utf8').catch(() => '');
  if (child.exitCode === null) child.kill('SIGKILL');
  throw new Error(`nginx did not start:\n${stderr()}\n${log}`);
}
