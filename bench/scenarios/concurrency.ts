import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Pool } from 'undici';
import { parseConfig } from '../../src/config/load.ts';
import { GiB, MiB } from '../lib/body.ts';
import { type BenchContext, stowageTrees, warmUp, withStowage } from '../lib/context.ts';
import { openPool, sendUpload } from '../lib/http.ts';
import { median } from '../lib/load.ts';
import { peakRssMiB, resetPeak, rssMiB, s3ServerPids, startCpuCount } from '../lib/proc.ts';
import { fixed, ratio, type Table } from '../lib/report.ts';
import { collectGarbage, deleteObject, uploadDirect } from '../lib/s3.ts';
import { benchConfig, type Stowage } from '../lib/stowage.ts';

/**
 * Many 100 MiB uploads at once against Stowage with the **shipped admission limits** (issue 13):
 * 1, 8, 32 and 64 at a time, as multipart/form-data POSTs and as raw PUTs, and the same number of
 * lib-storage `Upload`s straight to S3 (8 MiB × 4, the profile's defaults) in the same run. Per
 * level and path: how Stowage answered (201 / 503 / 429 / other), its peak RSS against idle RSS +
 * `limits.uploadMemory`, the aggregate rate of the stored bytes and its ratio to direct, and
 * Stowage's CPU per GiB stored.
 *
 * The uploads are spread over API_KEYS API keys (principals), so that `uploadsPerPrincipal`
 * (32 by default before issue 13, 64 after) never refuses one: at 64 each key has 16 in flight.
 * What is measured is the memory budget's admission, which the issue wants to hold 64 uploads
 * without a 503; a 429 would still be counted in its own column. With STOWAGE_BENCH_BEFORE the other tree's POST and PUT are paths too.
 * Each level runs `--rounds` times, the paths taking turns (the first path rotates round by round),
 * and the table reports medians; the objects of a level are deleted
 * and Ceph's garbage collector runs before the next path starts.
 */

const API_KEYS = 4;
const DIRECT = 'direct lib-storage Upload';

interface Level {
  name: string;
  /** The Stowage that serves the path; absent on the direct path. */
  stowage: Stowage | undefined;
  /** Idle RSS of that Stowage after its warm-up (MiB). */
  idle: number;
  /** `count` uploads of `size` at once; resolves with each one's outcome. */
  run(count: number, size: number, level: number): Promise<Outcome[]>;
}

/** One level of one path in one round. */
interface Measurement {
  outcomes: Outcome[];
  /** Peak RSS (VmHWM, reset before the level) and the pool's peak lent, MiB. */
  peak: number;
  poolPeak: number;
  /** RSS and pool buffers allocated when the level started (MiB). */
  startRss: number;
  startPool: number;
  mibPerSecond: number;
  /** Stowage CPU seconds per GiB stored. */
  cpu: number;
}

/** An upload's outcome: the HTTP status (0: no answer, `error` says why) and what it stored. */
interface Outcome {
  status: number;
  key: string | undefined;
  error?: string;
}

const stowageRun =
  (pool: Pool, stowage: Stowage, mode: 'put' | 'post', tag: string) =>
  (count: number, size: number, level: number): Promise<Outcome[]> =>
    Promise.all(
      Array.from({ length: count }, (_, n) =>
        sendUpload(
          pool,
          stowage.authorizations[n % stowage.authorizations.length]!,
          mode,
          size,
          `concurrency/${level}-${tag}-${n}`,
        ).then(
          (answer): Outcome => ({ status: answer.status, key: answer.key }),
          (error: unknown): Outcome => ({ status: 0, key: undefined, error: String(error) }),
        ),
      ),
    );

const directRun =
  (client: S3Client, bucket: string) =>
  (count: number, size: number, level: number): Promise<Outcome[]> =>
    Promise.all(
      Array.from({ length: count }, async (_, n): Promise<Outcome> => {
        const key = `concurrency/${level}-direct-${n}-${randomUUID()}`;
        try {
          await uploadDirect(client, bucket, key, size);
          return { status: 201, key };
        } catch (error) {
          return { status: 0, key: undefined, error: String(error) };
        }
      }),
    );

/**
 * A gauge of the pool from /metrics (MiB), in trees since issue 13; NaN for a tree without it.
 * `stowage_upload_buffer_peak_bytes`: the most part-buffer memory lent at once since Stowage started
 * (the levels run in increasing order, so at each level it is at least that level's peak);
 * `stowage_upload_buffer_bytes`: the buffers that exist now, lent or kept for reuse.
 */
async function poolGaugeMiB(server: Stowage, name: string): Promise<number> {
  const text = await fetch(`${server.origin}/metrics`).then(
    (response) => response.text(),
    () => '',
  );
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
  return value === undefined ? Number.NaN : Number(value) / MiB;
}

/** "500 × 2, no answer × 1" for the statuses other than 201, 503 and 429. */
function otherStatuses(outcomes: readonly Outcome[]): string {
  const counts = new Map<string, number>();
  for (const { status } of outcomes) {
    if (status === 201 || status === 503 || status === 429) continue;
    const label = status === 0 ? 'no answer' : String(status);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts.size === 0 ? '0' : [...counts].map(([label, n]) => `${label} × ${n}`).join(', ');
}

export async function concurrencyScenario(context: BenchContext): Promise<Table[]> {
  const { quick } = context.options;
  // STOWAGE_BENCH_LEVELS="64" / STOWAGE_BENCH_UPLOAD_MIB=24: one level, smaller bodies — Ceph's memstore
  // keeps the memory of deleted objects, so a 16 GiB cluster takes ≈ 12 GiB written before it must be
  // restarted; 64 × 24 MiB still fills the 512 MiB pool (64 first buffers of 8 MiB).
  const env = process.env;
  const levels = env.STOWAGE_BENCH_LEVELS?.split(',').map(Number) ?? (quick ? [1, 8] : [1, 8, 32, 64]);
  const size = (Number(env.STOWAGE_BENCH_UPLOAD_MIB) || (quick ? 8 : 100)) * MiB;
  const { client } = context.s3;
  const options = { limits: 'shipped', apiKeys: API_KEYS } as const;
  // The shipped budget, as this tree's schema defaults it (the trees compared keep the same default).
  const budget =
    parseConfig(benchConfig(context.s3, { ...options, bucket: 'bench-budget' }).document, {}, 'bench').limits
      .uploadMemory / MiB;
  return withStowage(context, 'concurrency', options, async (stowage, bucket, before) => {
    const s3Pids = s3ServerPids();
    const pools: Pool[] = [];
    const paths: Level[] = [];
    for (const { server, suffix } of stowageTrees(stowage, before)) {
      const pool = openPool(server, Math.max(...levels));
      pools.push(pool);
      const idle = await warmUp(context, pool, server, bucket, { form: true });
      const tag = suffix ? 'before' : 'this';
      paths.push(
        {
          name: `POST (form) via Stowage${suffix}`,
          stowage: server,
          idle,
          run: stowageRun(pool, server, 'post', `${tag}-post`),
        },
        {
          name: `PUT via Stowage${suffix}`,
          stowage: server,
          idle,
          run: stowageRun(pool, server, 'put', `${tag}-put`),
        },
      );
    }
    paths.push({ name: DIRECT, stowage: undefined, idle: Number.NaN, run: directRun(client, bucket) });
    // STOWAGE_BENCH_PATHS="direct": only the paths whose name contains one of these words (lowercase),
    // for a level too big for one memstore to take every path of (64 × 100 MiB: 6.4 GiB per path).
    const only = env.STOWAGE_BENCH_PATHS?.split(',').map((word) => word.trim().toLowerCase());
    if (only)
      paths.splice(
        0,
        paths.length,
        ...paths.filter((path) => only.some((word) => path.name.toLowerCase().includes(word))),
      );

    /** One level of one path: `level` uploads at once, with what Stowage and S3 spent on them. */
    const measure = async (path: Level, level: number): Promise<Measurement> => {
      const pid = path.stowage?.pid ?? stowage.pid;
      const startPool = path.stowage
        ? await poolGaugeMiB(path.stowage, 'stowage_upload_buffer_bytes')
        : Number.NaN;
      const startRss = path.stowage ? rssMiB(path.stowage.pid) : Number.NaN;
      resetPeak(pid);
      const cpu = startCpuCount(pid, s3Pids);
      const started = performance.now();
      const outcomes = await path.run(level, size, level);
      const seconds = (performance.now() - started) / 1000;
      const peak = path.stowage ? peakRssMiB(path.stowage.pid) : Number.NaN;
      const poolPeak = path.stowage
        ? await poolGaugeMiB(path.stowage, 'stowage_upload_buffer_peak_bytes')
        : Number.NaN;
      const stored = outcomes.filter((outcome) => outcome.key !== undefined).length;
      return {
        outcomes,
        peak,
        poolPeak,
        startRss,
        startPool,
        mibPerSecond: (stored * size) / MiB / seconds,
        cpu: path.stowage ? cpu().stowage / ((stored * size) / GiB) : Number.NaN,
      };
    };

    const rows: Table['rows'] = [];
    const errors: string[] = [];
    const { rounds } = context.options;
    for (const [index, level] of levels.entries()) {
      // Every path `rounds` times, the paths taking turns (the first path rotates round by round), so
      // a cold first upload or a burst of load elsewhere on the machine lands on each path in turn.
      const measured = new Map<Level, Measurement[]>(paths.map((path) => [path, []]));
      for (let round = 0; round < rounds; round++) {
        const turn = index + round;
        for (const path of paths.map((_, n) => paths[(n + turn) % paths.length]!)) {
          const measurement = await measure(path, level);
          measured.get(path)!.push(measurement);
          const firstError = measurement.outcomes.find((outcome) => outcome.error)?.error;
          if (firstError) errors.push(`${level} × ${path.name}: ${firstError.slice(0, 200)}`);
          const stored = measurement.outcomes.filter((outcome) => outcome.key !== undefined);
          context.log(
            `concurrency ${level} × ${path.name}, round ${round + 1}/${rounds}: ${stored.length}/${level} stored, ` +
              `${fixed(measurement.mibPerSecond)} MiB/s` +
              (path.stowage ? `, peak RSS ${fixed(measurement.peak)} MiB` : ''),
          );
          await Promise.all(stored.map((outcome) => deleteObject(client, bucket, outcome.key!)));
          await collectGarbage(context.s3.server);
        }
      }
      const directPath = paths.find((path) => path.name === DIRECT);
      const directRate = directPath
        ? median(measured.get(directPath)!.map((m) => m.mibPerSecond))
        : Number.NaN;
      for (const path of paths) {
        const runs = measured.get(path)!;
        const outcomes = runs.flatMap((run) => run.outcomes);
        const count = (status: number) => outcomes.filter((outcome) => outcome.status === status).length;
        const peak = Math.max(...runs.map((run) => run.peak));
        const poolPeak = Math.max(...runs.map((run) => run.poolPeak));
        const bound = path.idle + budget;
        const isStowage = path.stowage !== undefined;
        const rate = median(runs.map((run) => run.mibPerSecond));
        const first = runs[0]!;
        rows.push([
          level,
          path.name,
          count(201),
          isStowage ? count(503) : '—',
          isStowage ? count(429) : '—',
          otherStatuses(outcomes),
          isStowage ? fixed(peak) : '—',
          isStowage ? fixed(path.idle) : '—',
          isStowage ? `${fixed(bound)} (${peak <= bound ? 'within' : `+${fixed(peak - bound)}`})` : '—',
          Number.isNaN(poolPeak) ? '—' : fixed(poolPeak),
          isStowage
            ? `${fixed(first.startRss)}${Number.isNaN(first.startPool) ? '' : ` (${fixed(first.startPool)})`}`
            : '—',
          fixed(rate),
          ratio(rate, directRate),
          runs.map((run) => fixed(run.mibPerSecond)).join(', '),
          isStowage ? fixed(median(runs.map((run) => run.cpu)), 2) : '—',
        ]);
      }
    }
    await Promise.all(pools.map((pool) => pool.close()));
    return [
      {
        title: `${size / MiB} MiB uploads at once, shipped admission limits (uploadMemory ${budget} MiB; median of ${context.options.rounds} rounds)`,
        header: [
          'at once',
          'path',
          '201',
          '503',
          '429',
          'other',
          'peak RSS (MiB)',
          'idle RSS (MiB)',
          'idle + uploadMemory (MiB)',
          'pool peak lent (MiB)',
          'RSS at start (pool allocated) (MiB)',
          'aggregate MiB/s',
          'ratio to direct',
          'rounds (MiB/s)',
          'Stowage CPU s/GiB',
        ],
        rows,
        notes: [
          `Uploads spread over ${API_KEYS} API keys (principals), so uploadsPerPrincipal (32 by default before issue 13, 64 after) refuses none: 16 per key at 64. ` +
            'Counts (201, 503, …) are summed over the rounds; peak RSS and pool peak are the highest of the rounds; MiB/s, its ratio (median over median direct) and CPU are medians. ' +
            'Direct: "201" counts the uploads that completed, "other" the ones that failed. ' +
            'Aggregate MiB/s: bytes stored (201s only) over the time until the last upload of the level ' +
            'was answered. Stowage CPU: user + system seconds of the Stowage process per GiB stored. ' +
            'Peak RSS: VmHWM, reset before each level and path; idle RSS: after the warm-up (one 10 MiB PUT and one 10 MiB form upload, so neither path is measured cold). ' +
            'Pool peak lent: /metrics stowage_upload_buffer_peak_bytes (trees since issue 13; since start). ' +
            'RSS at start: when the level began, with the pool buffers that existed then (stowage_upload_buffer_bytes).',
          ...(errors.length > 0 ? [`First error per level and path: ${errors.join('; ')}`] : []),
        ],
      },
    ];
  });
}
