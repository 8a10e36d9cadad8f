/**
 * Issue 16 point 2's probe: Stowage's own CPU per 10 KiB upload, with S3's and the client's taken
 * out. The app of a Stowage tree (this one, or `--root <tree>`) is built in this process exactly as
 * src/server.ts builds it (config → storages → admission → buildApp, logging at info to a file) and
 * listens on loopback; S3 is bench/relay/stub-s3.ts (answers at once, stores nothing) and the load
 * comes from bench/probes/upload-load.ts: both in processes of their own, so this process's CPU over
 * the measured window, divided by the uploads completed in it, is what Stowage spent per upload.
 * With `--heap-profile <file>` the window's allocations are sampled (every 4 KiB, collected objects
 * included) and the KB allocated per upload printed by allocating function.
 * With `--profile <file>` the window (only it) is also CPU-profiled (node:inspector, a sample every 250 µs)
 * and split into stages (stages.ts); profiling slows the process, so take CPU per upload from runs
 * without it and the split's shares from runs with it. Prints one JSON line.
 *
 *   node --max-semi-space-size=2 bench/probes/small-uploads.ts --mode put [--root /tmp/before] \
 *     [--concurrency 64] [--warmup 3] [--seconds 8] [--profile /tmp/put.cpuprofile]
 *
 * bench/probes/small-ab.ts runs it for two trees in turns (each run a fresh process, with the tree's
 * own Dockerfile node flags) and prints medians.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { startNodeChild, stopChild } from '../lib/relays.ts';
import type { S3Side } from '../lib/s3.ts';
import { benchConfig } from '../lib/stowage.ts';
import { splitByStage } from './stages.ts';
import type { LoadMessage, LoadOrder } from './upload-load.ts';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'put' },
    root: { type: 'string', default: new URL('../../', import.meta.url).pathname },
    concurrency: { type: 'string', default: '64' },
    warmup: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
    bytes: { type: 'string', default: String(10 * 1024) },
    profile: { type: 'string' },
    'heap-profile': { type: 'string' },
    /** Profiler sampling interval, µs: shorter gives more samples and slows the process more. */
    interval: { type: 'string', default: '250' },
  },
});
const mode = values.mode === 'post' ? 'post' : 'put';
const root = values.root.endsWith('/') ? values.root : `${values.root}/`;

// The tree under test, loaded from its own sources (a `before` tree is a `git archive` checkout).
const { parseConfig } = await import(`${root}src/config/load.ts`);
const { createLinks, createStorages } = await import(`${root}src/storage/registry.ts`);
const { PartPool } = await import(`${root}src/storage/part-pool.ts`);
const { UploadAdmission } = await import(`${root}src/http/admission.ts`);
const { buildApp } = await import(`${root}src/app.ts`);
const { loggerOptions } = await import(`${root}src/logger.ts`);

const { child: stub, port } = await startNodeChild('stub-s3.ts');
const dir = mkdtempSync(join(tmpdir(), 'stowage-probe-'));
try {
  const s3 = {
    connection: {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAPROBE', secretAccessKey: 'probe-secret' },
    },
  } as S3Side;
  const { document, apiKeys } = benchConfig(s3, { bucket: 'stub-bucket' });
  const config = parseConfig(document, {}, 'probe');
  const pool = new PartPool(config.limits.uploadMemory);
  const storages = createStorages(config, createLinks(config), pool);
  for (const storage of storages.values()) await storage.driver.check();
  // As deployed: pino at info, one line per request, through pino's default destination (an
  // asynchronous SonicBoom on stdout), to a file here.
  const destination = pino.destination({ dest: join(dir, 'stowage.log'), sync: false });
  const app = await buildApp(config, {
    storages,
    links: createLinks(config),
    logger: { ...loggerOptions(config.server.logLevel), stream: destination },
    uploads: new UploadAdmission(config, pool),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port: appPort } = app.server.address() as { port: number };

  const order: LoadOrder = {
    origin: `http://127.0.0.1:${appPort}`,
    authorization: `Bearer ${apiKeys[0]}`,
    mode,
    bytes: Number(values.bytes),
    concurrency: Number(values.concurrency),
    warmupSeconds: Number(values.warmup),
    seconds: Number(values.seconds),
    prefix: `probe-${process.pid}`,
  };
  const load = fork(new URL('upload-load.ts', import.meta.url).pathname, [JSON.stringify(order)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const heapProfile = values['heap-profile'];
  const session = values.profile || heapProfile ? new Session() : undefined;
  let started = process.cpuUsage();
  const end = await new Promise<Extract<LoadMessage, { edge: 'end' }>>((resolve, reject) => {
    load.on('message', (message: LoadMessage) => {
      if (message.edge === 'start') {
        void (async () => {
          if (session) session.connect();
          if (session && values.profile) {
            await session.post('Profiler.enable');
            await session.post('Profiler.setSamplingInterval', { interval: Number(values.interval) });
            await session.post('Profiler.start');
          }
          // Every allocation is sampled, collected ones included: what the scavenger is paid for.
          if (session && heapProfile) {
            await session.post('HeapProfiler.enable');
            await session.post('HeapProfiler.startSampling', {
              samplingInterval: 4096,
              includeObjectsCollectedByMajorGC: true,
              includeObjectsCollectedByMinorGC: true,
            });
          }
          started = process.cpuUsage();
        })();
      } else resolve(message);
    });
    load.once('exit', (code) =>
      reject(new Error(`the load process exited (${code}) before its window closed`)),
    );
  });
  const used = process.cpuUsage(started);
  const cpuMs = (used.user + used.system) / 1000;
  let stages: Record<string, number> | undefined;
  let allocation: Record<string, number> | undefined;
  if (session && values.profile) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(values.profile, JSON.stringify(profile));
    stages = splitByStage(profile, cpuMs / Math.max(1, end.completed));
  }
  if (session && heapProfile) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(heapProfile, JSON.stringify(profile));
    allocation = allocatedBySource(profile, end.completed);
  }
  session?.disconnect();
  await new Promise((resolve) => load.once('exit', resolve));
  await app.close();
  destination.flushSync();
  const result = {
    root,
    mode,
    concurrency: order.concurrency,
    completed: end.completed,
    errors: end.errors,
    ...(end.firstError !== undefined && { firstError: end.firstError }),
    perSecond: Math.round(end.completed / order.seconds),
    ...(allocation !== undefined && { allocatedKBPerUpload: allocation }),
    cpuMsPerUpload: Number((cpuMs / Math.max(1, end.completed)).toFixed(4)),
    ...(stages && { stagesUs: stages }),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await stopChild(stub);
  rmSync(dir, { recursive: true, force: true });
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/**
 * KB allocated per upload by the file (package, or `src/…` path) of the allocating function, and
 * the top functions: a sampling heap profile's self sizes summed over its call tree.
 */
function allocatedBySource(profile: { head: HeapNode }, uploads: number): Record<string, number> {
  const totals = new Map<string, number>();
  const visit = (node: HeapNode) => {
    const { url, functionName, lineNumber } = node.callFrame;
    const where = url.includes('/node_modules/')
      ? (/\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? url)
      : url.includes('/src/')
        ? `src/${url.split('/src/')[1]}`
        : url || '(native)';
    const key = `${where} ${functionName || '(anonymous)'}:${lineNumber + 1}`;
    totals.set(key, (totals.get(key) ?? 0) + node.selfSize);
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, 25);
  const all = [...totals.values()].reduce((sum, size) => sum + size, 0);
  return Object.fromEntries([
    ['(all)', Math.round(all / uploads / 102.4) / 10],
    ...rows.map(([key, size]) => [key, Math.round(size / uploads / 102.4) / 10]),
  ]);
}
