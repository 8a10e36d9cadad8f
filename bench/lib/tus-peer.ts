import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './context.ts';
import { pinProxy } from './pinning.ts';
import { startNodeChild, stopChild } from './relays.ts';

/**
 * The @tus/server + @tus/s3-store child (bench/relay/tus-peer.ts) on the scenario's bucket, with a
 * temporary directory of its own, so the part files the store spools can be watched.
 */

export interface TusPeer {
  pid: number;
  /** Its tus creation URL. */
  endpoint: string;
  /** Bytes in its temporary directory now. */
  tempBytes(): number;
  stop(): Promise<void>;
}

/** "undici" (default): the store's S3 client configured like Stowage's; "sdk": the SDK's default handler. */
export const peerHandler = process.env.STOWAGE_BENCH_TUS_PEER_HANDLER === 'sdk' ? 'sdk' : 'undici';

export async function startTusPeer(context: BenchContext, bucket: string): Promise<TusPeer> {
  const temp = mkdtempSync(join(tmpdir(), 'stowage-bench-tus-peer-'));
  const { connection } = context.s3;
  const { child, port } = await startNodeChild(
    'tus-peer.ts',
    [JSON.stringify({ bucket, connection, handler: peerHandler })],
    { TMPDIR: temp },
  );
  // --pinned, --s3-apart: on Stowage's core, like Stowage.
  if (context.options.layout !== 'shared') pinProxy(child.pid as number);
  return {
    pid: child.pid as number,
    endpoint: `http://127.0.0.1:${port}/files`,
    tempBytes: () => directoryBytes(temp),
    async stop() {
      await stopChild(child);
      rmSync(temp, { recursive: true, force: true });
    },
  };
}

function directoryBytes(dir: string): number {
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    try {
      bytes += statSync(join(dir, name)).size;
    } catch {
      // removed meanwhile: the store deletes each part file once it is sent
    }
  }
  return bytes;
}

/** Samples `read` every `everyMs` until the returned function is called, which gives the highest value. */
export function watchPeak(read: () => number, everyMs = 25): () => number {
  let peak = read();
  const timer = setInterval(() => {
    peak = Math.max(peak, read());
  }, everyMs);
  return () => {
    clearInterval(timer);
    return Math.max(peak, read());
  };
}
