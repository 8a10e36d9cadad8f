import { GiB, MiB } from '../lib/body.ts';
import { type BenchContext, stowageTrees, warmUp, withStowage } from '../lib/context.ts';
import { openPool, postObject, putObject } from '../lib/http.ts';
import { peakRssMiB, resetPeak } from '../lib/proc.ts';
import { fixed, type Table } from '../lib/report.ts';
import { collectGarbage, deleteObject } from '../lib/s3.ts';

/**
 * Peak resident memory of the Stowage process while it streams uploads: 10 MiB vs 1 GiB (memory must
 * not grow with the file size) and 1, 4 and 8 concurrent large uploads (it may grow with their number,
 * by at most (queueSize + 1) × partSize each). The peak is the kernel's VmHWM, reset before each case.
 *
 * With STOWAGE_BENCH_BEFORE the other tree's Stowage runs the same cases after this one's.
 *
 * The S3 server keeps its data in RAM with an 8 GiB cap, so 8 concurrent uploads are 512 MiB each
 * (the per-upload buffer does not depend on the size; the 1 GiB cases show that).
 */

interface Case {
  label: string;
  count: number;
  size: number;
  mode: 'put' | 'post';
}

const BUFFER_MIB = (4 + 1) * 8; // (queueSize + 1) × partSize of the default profile

export async function memoryScenario(context: BenchContext): Promise<Table[]> {
  const large = context.options.quick ? 128 * MiB : GiB;
  const cases: Case[] = [
    { label: '1 × 10 MiB (PUT)', count: 1, size: 10 * MiB, mode: 'put' },
    { label: `1 × ${large / MiB} MiB (PUT)`, count: 1, size: large, mode: 'put' },
    { label: `1 × ${large / MiB} MiB (multipart POST)`, count: 1, size: large, mode: 'post' },
    { label: `4 × ${large / MiB} MiB (PUT)`, count: 4, size: large, mode: 'put' },
    { label: `8 × ${large / 2 / MiB} MiB (PUT)`, count: 8, size: large / 2, mode: 'put' },
  ];
  const { client } = context.s3;
  return withStowage(context, 'memory', {}, async (stowage, bucket, before) => {
    const rows: Table['rows'] = [];
    const idles: string[] = [];
    for (const { server, suffix } of stowageTrees(stowage, before)) {
      const pool = openPool(server, 8);
      const idle = await warmUp(context, pool, server, bucket);
      idles.push(`${fixed(idle)} MiB${suffix}`);
      for (const [index, item] of cases.entries()) {
        resetPeak(server.pid);
        const started = performance.now();
        const keys = await Promise.all(
          Array.from({ length: item.count }, async (_, n) => {
            const key = `memory/${index}-${n}`;
            if (item.mode === 'post') return postObject(pool, server, item.size);
            await putObject(pool, server, key, item.size);
            return key;
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        const peak = peakRssMiB(server.pid);
        rows.push([
          `${item.label}${suffix}`,
          fixed(peak),
          fixed(peak - idle),
          fixed(BUFFER_MIB * item.count),
          fixed((item.count * item.size) / MiB / seconds),
        ]);
        context.log(`memory ${item.label}${suffix}: peak ${fixed(peak)} MiB`);
        await Promise.all(keys.map((key) => deleteObject(client, bucket, key)));
        await collectGarbage(context.s3.server);
      }
      await pool.close();
    }
    return [
      {
        title: 'Peak RSS of the Stowage process during uploads',
        header: [
          'uploads',
          'peak RSS (MiB)',
          'above idle (MiB)',
          'old admission reservation, (queueSize + 1) × partSize × uploads (MiB)',
          'aggregate MiB/s',
        ],
        rows,
        notes: [
          `Idle RSS after a warm-up upload: ${idles.join(', ')}. Profile defaults: partSize 8 MiB, queueSize 4.`,
          `8 concurrent uploads are ${large / 2 / MiB} MiB each: 8 × ${large / MiB} MiB does not fit the ` +
            "test S3 server's 8 GiB RAM cap next to the other data it holds.",
        ],
      },
    ];
  });
}
