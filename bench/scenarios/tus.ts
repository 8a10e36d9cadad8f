import { randomUUID } from 'node:crypto';
import { GiB, MiB } from '../lib/body.ts';
import { type BenchContext, withStowage } from '../lib/context.ts';
import { packageVersion } from '../lib/environment.ts';
import { STORAGE } from '../lib/http.ts';
import { rssMiB } from '../lib/proc.ts';
import { fixed, type Table } from '../lib/report.ts';
import { collectGarbage, emptyBucket, expectSize, uploadDirect } from '../lib/s3.ts';
import type { Stowage } from '../lib/stowage.ts';
import { type TransferPath, throughputTable, transferRounds } from '../lib/throughput.ts';
import { type TusUploadInput, tusUpload } from '../lib/tus-client.ts';
import { peerHandler, startTusPeer, type TusPeer, watchPeak } from '../lib/tus-peer.ts';

/**
 * Issue 14's figures: one 1 GiB tus upload at a time from tus-js-client (Node) through Stowage and
 * through @tus/server + @tus/s3-store (bench/relay/tus-peer.ts), each with an unlimited chunk size
 * (one PATCH) and with 16 MiB chunks, against lib-storage's `Upload` of the same bytes straight to
 * S3. Same S3 server, same bucket, same credentials; the paths take turns round after round. Per
 * path: rate, peak RSS of the server process and of the bench process, CPU per GiB; for the peer
 * also the peak of the part files it spools to its temporary directory.
 *
 * After each transfer the stored object's size is checked and the bucket emptied (the object, the
 * peer's `.info` objects, anything half-done): Ceph's memstore keeps in RAM what is not removed.
 */

const DIRECT = 'direct lib-storage Upload';
const CHUNKS: ReadonlyArray<[label: string, bytes: number]> = [
  ['chunk size unlimited', Number.POSITIVE_INFINITY],
  ['16 MiB chunks', 16 * MiB],
];
const PEER = `@tus/server ${packageVersion('@tus/server')} + @tus/s3-store ${packageVersion('@tus/s3-store')}`;

/** What a path stored: its key, to check its size. */
type Stored = string;

const viaStowage = (stowage: Stowage): Omit<TusUploadInput, 'size' | 'chunkSize'> => ({
  endpoint: `${stowage.origin}/v1/storages/${STORAGE}/uploads`,
  headers: { authorization: stowage.authorization },
});

/** Stowage's last PATCH answers the stored object. */
const stowageKey = (body: string): Stored => (JSON.parse(body) as { key: string }).key;
/** @tus/s3-store stores the object under the upload's id, the last segment of its URL. */
const peerKey = (url: string): Stored => new URL(url).pathname.split('/').pop() ?? '';

export async function tusScenario(context: BenchContext): Promise<Table[]> {
  const size = context.options.quick ? 128 * MiB : GiB;
  return withStowage(context, 'tus', {}, async (stowage, bucket) => {
    const peer = await startTusPeer(context, bucket);
    try {
      return await measure(context, { stowage, peer, bucket, size });
    } finally {
      // Before withStowage removes the bucket, so nothing writes to it meanwhile.
      await peer.stop();
    }
  });
}

async function measure(
  context: BenchContext,
  { stowage, peer, bucket, size }: { stowage: Stowage; peer: TusPeer; bucket: string; size: number },
): Promise<Table[]> {
  const { client } = context.s3;
  // One small upload to each server first (modules, JIT, sockets), so round 1 measures the steady state.
  await tusUpload({ ...viaStowage(stowage), size: 10 * MiB, chunkSize: 16 * MiB });
  await tusUpload({ endpoint: peer.endpoint, size: 10 * MiB, chunkSize: 16 * MiB });
  await emptyBucket(client, bucket);
  const idle = `idle RSS after a warm-up upload: Stowage ${fixed(rssMiB(stowage.pid))} MiB, peer ${fixed(rssMiB(peer.pid))} MiB`;

  const tempPeaks = new Map<string, number[]>();
  const paths: Array<TransferPath<Stored>> = [
    ...CHUNKS.map(([label, chunkSize]) => ({
      name: `tus via Stowage, ${label}`,
      pid: stowage.pid,
      run: async () => stowageKey((await tusUpload({ ...viaStowage(stowage), size, chunkSize })).body),
    })),
    ...CHUNKS.map(([label, chunkSize]) => {
      const name = `tus via ${PEER}, ${label}`;
      return {
        name,
        pid: peer.pid,
        run: async () => {
          const peak = watchPeak(peer.tempBytes);
          try {
            return peerKey((await tusUpload({ endpoint: peer.endpoint, size, chunkSize })).url);
          } finally {
            tempPeaks.set(name, [...(tempPeaks.get(name) ?? []), peak()]);
          }
        },
      };
    }),
    {
      name: DIRECT,
      pid: undefined,
      run: async (round) => {
        const key = `tus/${round}-direct-${randomUUID()}`;
        await uploadDirect(client, bucket, key, size);
        return key;
      },
    },
  ];
  const samples = await transferRounds({
    context,
    label: 'tus',
    paths,
    bytes: size,
    idlePid: stowage.pid,
    peakRss: true,
    settle: async (_path, key) => {
      await expectSize(client, bucket, key, size);
      await emptyBucket(client, bucket);
    },
    afterRound: () => collectGarbage(context.s3.server),
  });
  const spooled = [...tempPeaks].map(([name, peaks]) => `${name}: ${fixed(Math.max(...peaks) / MiB)} MiB`);
  return [
    throughputTable({
      title: `${size / MiB} MiB tus upload, one at a time (median of ${context.options.rounds} rounds)`,
      samples,
      direct: DIRECT,
      bytes: size,
      server: 'Stowage or peer',
      notes: [
        `Client: tus-js-client ${packageVersion('tus-js-client')} (Node, its own HTTP stack) for both tus servers, one upload at a time, no ` +
          'retries; the file is generated from one 1 MiB block, each chunk a fresh stream (nothing held ' +
          "whole). Stowage: storage profile defaults (8 MiB parts × 4), create-only. Peer: the store's " +
          `defaults (8 MiB parts, up to 60 part uploads at once), its S3 client ${
            peerHandler === 'sdk'
              ? "with the SDK's default node:http handler"
              : "configured like Stowage's (undici handler, same checksum mode and timeouts)"
          }. Direct: lib-storage Upload, 8 MiB × 4, the same client configuration.`,
        `Peak of the part files @tus/s3-store spooled to its temporary directory (on disk): ${spooled.join('; ')}. ` +
          `Stowage writes nothing to disk. Server processes' ${idle}.`,
      ],
    }),
  ];
}
