/**
 * Peak memory of a Stowage process while it streams large uploads to S3, against the same upload
 * made directly with lib-storage. Memory must not grow with file size.
 *
 *   node bench/upload-memory.ts [sizes in MiB, default "10 1024"]
 *
 * Uses the test harness's S3 server (env endpoint, MinIO, or the local Ceph RGW). Stowage runs as a
 * child process; its peak RSS is read from /proc/<pid>/status (VmHWM), reset before each upload
 * through /proc/<pid>/clear_refs.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { resolveS3Server } from '../test/support/s3-server.ts';

const MiB = 2 ** 20;
const sizes = (process.argv[2] ?? '10 1024').split(/\s+/).map((value) => Number(value) * MiB);
const chunk = Buffer.alloc(MiB, 0x5a);

/** A body of `size` bytes produced on demand (never held in memory). */
function body(size: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return this.push(null);
      const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
      sent += piece.length;
      this.push(piece);
    },
  });
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const vmHwmMiB = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const vmRssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

function put(port: number, key: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: `/v1/storages/bench/objects/${key}`,
        headers: { 'content-type': 'application/octet-stream', 'content-length': size },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 201 ? resolve(res.statusCode) : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    body(size).pipe(req);
  });
}

async function main() {
  const s3 = await resolveS3Server();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const bucket = `bench-${Date.now().toString(36)}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const configPath = join(tmpdir(), `stowage-bench-${process.pid}.json`);
  writeFileSync(
    configPath,
    JSON.stringify({
      s3: {
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      },
      storages: { bench: { driver: 's3', bucket, maxFileSize: '5GiB', overwrite: true } },
    }),
  );
  const port = await freePort();
  const child = spawn(process.execPath, ['src/server.ts'], {
    env: { ...process.env, STOWAGE_CONFIG: configPath, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const pid = child.pid ?? 0;
  for (let attempt = 0; attempt < 100; attempt++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log(
    `node ${process.version}, S3: ${s3.kind} ${s3.endpoint}, part size 8 MiB × queue 4 (profile defaults)`,
  );
  console.log(`idle RSS ${vmRssMiB(pid).toFixed(0)} MiB`);
  console.log('| size | Stowage MiB/s | direct lib-storage MiB/s | ratio | Stowage peak RSS (MiB) |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const size of sizes) {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    let started = performance.now();
    await put(port, `via-stowage-${size}`, size);
    const viaSeconds = (performance.now() - started) / 1000;
    const peak = vmHwmMiB(pid);
    started = performance.now();
    await new Upload({
      client,
      params: { Bucket: bucket, Key: `direct-${size}`, Body: body(size) },
      partSize: 8 * MiB,
      queueSize: 4,
    }).done();
    const directSeconds = (performance.now() - started) / 1000;
    const via = size / MiB / viaSeconds;
    const direct = size / MiB / directSeconds;
    console.log(
      `| ${size / MiB} MiB | ${via.toFixed(0)} | ${direct.toFixed(0)} | ${(via / direct).toFixed(2)} | ${peak.toFixed(0)} |`,
    );
  }
  child.kill('SIGTERM');
  await s3.stop();
  client.destroy();
}

await main();
