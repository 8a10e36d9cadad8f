import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DropOutcome, type DroppedUpload, dropUpload } from '../support/dropped-upload.ts';
import { sampleValue, scrapeMetrics } from '../support/exposition.ts';
import { connectInspector, type Inspector } from '../support/inspector.ts';
import { MiB, mib, rssBytes } from '../support/proc-stats.ts';
import { testSeed } from '../support/seeded-random.ts';
import { untilEmpty } from '../support/until-empty.ts';
import { useStowageProcess } from '../support/use-stowage-process.ts';

/**
 * 50 uploads of 5–100 MiB whose clients vanish at a random point, against Stowage as a real process:
 * multipart forms and raw PUTs, bodies that fit one S3 part and bodies of many, dropped before the
 * first part is done or after several. Afterwards the bucket holds nothing (no object, no reservation,
 * no multipart upload), the process serves as before, and its memory is back near what it was after a
 * warm-up at the same concurrency. Sizes and drop points come from a printed seed (STOWAGE_TEST_SEED
 * replays it).
 *
 * Memory is read after a forced full collection (through the inspector): V8 does not collect while a
 * process idles, so without it the figure says when the collector last ran, not what is held. glibc's
 * allocator is pinned to give large blocks back (MALLOC_MMAP_THRESHOLD_): by default its dynamic mmap
 * threshold keeps freed 8 MiB part buffers in its heap, and RSS stays 60–110 MiB above the baseline
 * after such a burst (measured here; it plateaus over repeated bursts, and the JS heap and
 * ArrayBuffers are back at their baseline either way). Pinned, RSS shows what the process really holds.
 *
 * The upload memory pool (part-pool.ts) keeps returned part buffers for reuse, up to its capacity: what
 * it keeps is read from /metrics and set apart, so "back near the baseline" means nothing held beyond
 * the pool's kept buffers, and nothing still lent out of it.
 */
const UPLOADS = 50;
const CONCURRENCY = 8;
/** The production defaults, spelled out: they decide which bodies are one part and which are many. */
const PART_SIZE = 8 * MiB;
const QUEUE_SIZE = 4;
/** "Near the baseline": allocator and collector noise; one leaked upload's buffers (40 MiB) show in the JS figures. */
const RSS_SLACK = (baseline: number) => Math.max(64 * MiB, baseline * 0.25);
/** Less than one part buffer: an upload that keeps one alive fails this. */
const ARRAY_BUFFER_SLACK = 4 * MiB;
const HEAP_SLACK = 16 * MiB;

const random = testSeed('client-aborts');
const suite = useStowageProcess({
  label: 'aborts',
  inspect: true,
  env: { MALLOC_MMAP_THRESHOLD_: String(128 * 1024) },
  storages: (bucket) => ({
    drops: { driver: 's3', bucket, maxFileSize: '100MiB', partSize: PART_SIZE, queueSize: QUEUE_SIZE },
  }),
});
let inspector: Inspector;

beforeAll(async () => {
  inspector = await connectInspector(suite.stowage.inspectorUrl ?? '');
});

afterAll(() => inspector?.close());

/** Half the uploads fit one part (the buffered PutObject path), half take many (multipart). */
function plan(): DroppedUpload[] {
  return Array.from({ length: UPLOADS }, (_, n) => {
    const size = n % 2 === 0 ? random.int(5 * MiB, PART_SIZE) : random.int(PART_SIZE + 1, 100 * MiB);
    const kind = random.pick(['form', 'put'] as const);
    return {
      kind,
      path: kind === 'form' ? '/v1/storages/drops/objects' : `/v1/storages/drops/objects/dropped/${n}.bin`,
      size,
      dropAfter: random.int(0, size - 1),
    };
  });
}

async function runAll<T, R>(items: T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++)
      results[index] = await task(items[index] as T);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A form upload and a multipart PUT that complete (201), then their deletion. */
async function normalUploads(tag: string, size = 20 * MiB): Promise<void> {
  const body = Buffer.alloc(size, 7);
  const put = await fetch(`${suite.stowage.url}/v1/storages/drops/objects/normal/${tag}.bin`, {
    method: 'PUT',
    body,
    headers: { 'content-type': 'application/octet-stream' },
  });
  expect(put.status).toBe(201);
  const form = new FormData();
  form.append('file', new Blob([body.subarray(0, MiB)]), 'small.bin');
  const posted = await fetch(`${suite.stowage.url}/v1/storages/drops/objects`, {
    method: 'POST',
    body: form,
  });
  expect(posted.status).toBe(201);
  const { objects } = (await posted.json()) as { objects: Array<{ key: string }> };
  for (const key of [`normal/${tag}.bin`, objects[0]?.key ?? '']) {
    const removed = await fetch(`${suite.stowage.url}/v1/storages/drops/objects/${key}`, {
      method: 'DELETE',
    });
    expect(removed.status).toBe(204);
  }
}

interface Memory {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  /** Part buffers the upload memory pool holds (kept for reuse plus lent). */
  pooled: number;
  lent: number;
}

/** RSS and the JS figures after a full collection, and the pool's figures. */
async function settledMemory(): Promise<Memory> {
  await inspector.collectGarbage();
  await inspector.collectGarbage();
  const { heapUsed, arrayBuffers } = await inspector.memoryUsage();
  const samples = await scrapeMetrics(suite.stowage.url);
  return {
    rss: await rssBytes(suite.stowage.pid),
    heapUsed,
    arrayBuffers,
    pooled: sampleValue(samples, 'stowage_upload_buffer_bytes'),
    lent: sampleValue(samples, 'stowage_upload_buffer_lent_bytes'),
  };
}

const describeMemory = (m: Memory) =>
  `RSS ${mib(m.rss)}, JS heap ${mib(m.heapUsed)}, ArrayBuffers ${mib(m.arrayBuffers)} ` +
  `(upload pool ${mib(m.pooled)}, lent ${mib(m.lent)})`;

/** Samples RSS every `everyMs` until `stop` resolves; returns the highest value seen. */
async function peakRss(stop: Promise<unknown>, everyMs = 250): Promise<number> {
  let peak = 0;
  let done = false;
  void stop.finally(() => {
    done = true;
  });
  while (!done) {
    peak = Math.max(peak, await rssBytes(suite.stowage.pid));
    await pause(everyMs);
  }
  return peak;
}

describe('clients that vanish mid-upload', () => {
  it('leave nothing in the bucket, the process serving, and memory back near its baseline', async () => {
    // Warm-up at the concurrency of the test: the allocator's working set is part of the baseline.
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, n) => normalUploads(`warm-up-${n}`, 40 * MiB)));
    const baseline = await settledMemory();

    const uploads = plan();
    const started = Date.now();
    const dropping = runAll(uploads, CONCURRENCY, (upload) => dropUpload(suite.stowage.url, upload));
    const peak = await peakRss(dropping);
    const outcomes: DropOutcome[] = await dropping;
    const dropMs = Date.now() - started;

    const left = await untilEmpty(suite.backend);
    expect(suite.stowage.alive()).toBe(true);
    expect((await fetch(`${suite.stowage.url}/healthz`)).status).toBe(200);
    await normalUploads('after');
    const unforced = await rssBytes(suite.stowage.pid);
    const after = await settledMemory();

    // Buffers the pool allocated since the baseline and keeps for the next uploads.
    const grown = after.pooled - baseline.pooled;
    const multi = uploads.filter((upload) => upload.size > PART_SIZE);
    const total = (key: 'size' | 'dropAfter') => uploads.reduce((sum, upload) => sum + upload[key], 0);
    console.log(
      [
        `[client-aborts] seed ${random.seed}: ${UPLOADS} uploads, ${uploads.filter((u) => u.kind === 'form').length} form + ` +
          `${uploads.filter((u) => u.kind === 'put').length} PUT; ${UPLOADS - multi.length} single-part, ${multi.length} multipart ` +
          `(${multi.filter((u) => u.dropAfter < PART_SIZE).length} dropped before the first part was full, ` +
          `${multi.filter((u) => u.dropAfter >= 3 * PART_SIZE).length} after 3+ parts)`,
        `  sent ${mib(total('dropAfter'))} of ${mib(total('size'))} in ${dropMs} ms at concurrency ${CONCURRENCY}; ` +
          `bucket empty ${left.ms} ms after the last drop`,
        `  baseline: ${describeMemory(baseline)}; peak RSS ${mib(peak)}`,
        `  after:    ${describeMemory(after)} (RSS before the forced collection ${mib(unforced)}; ` +
          `allowed ≤ ${mib(baseline.rss + grown + RSS_SLACK(baseline.rss))})`,
      ].join('\n'),
    );

    expect(outcomes.filter((outcome) => outcome.answeredEarly !== undefined)).toEqual([]);
    expect({ keys: left.keys, leftovers: left.leftovers }).toEqual({ keys: [], leftovers: [] });
    expect(await untilEmpty(suite.backend)).toMatchObject({ keys: [], leftovers: [] });
    expect(suite.stowage.logs().filter((line) => /"level":(5|6)\d/.test(line))).toEqual([]);
    expect(after.lent).toBe(0);
    expect(after.arrayBuffers - after.pooled).toBeLessThanOrEqual(
      baseline.arrayBuffers - baseline.pooled + ARRAY_BUFFER_SLACK,
    );
    expect(after.heapUsed).toBeLessThanOrEqual(baseline.heapUsed + HEAP_SLACK);
    expect(after.rss).toBeLessThanOrEqual(baseline.rss + grown + RSS_SLACK(baseline.rss));
  });
});
