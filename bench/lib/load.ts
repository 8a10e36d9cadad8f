/**
 * A closed-loop load generator: `concurrency` workers each run `task` back to back for `seconds`,
 * after a warm-up whose requests are not counted. Latencies are kept whole (a few 100 000 numbers at
 * most), so percentiles are exact.
 */

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** The first error seen, for the report. */
  firstError?: string;
}

export interface LoadOptions {
  concurrency: number;
  seconds: number;
  warmupSeconds?: number;
  /** One request; `n` is a sequence number unique in this run. */
  task: (n: number) => Promise<void>;
  /** Called when the measured window opens and when it closes (e.g. to read CPU counters). */
  onWindow?: (edge: 'start' | 'end') => void;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export async function closedLoop(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let sequence = 0;
  const start = performance.now();
  const warmupEnd = start + (options.warmupSeconds ?? 0) * 1000;
  const end = warmupEnd + options.seconds * 1000;
  let measuredRequests = 0;
  const opened = setTimeout(() => options.onWindow?.('start'), warmupEnd - start);
  const closed = setTimeout(() => options.onWindow?.('end'), end - start);
  const worker = async () => {
    for (let now = performance.now(); now < end; now = performance.now()) {
      const began = now;
      try {
        await options.task(sequence++);
        const done = performance.now();
        if (began >= warmupEnd && done <= end) {
          latencies.push(done - began);
          measuredRequests++;
        }
      } catch (error) {
        errors++;
        firstError ??= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  clearTimeout(opened);
  clearTimeout(closed);
  latencies.sort((a, b) => a - b);
  return {
    requests: measuredRequests,
    errors,
    seconds: options.seconds,
    perSecond: measuredRequests / options.seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    ...(firstError !== undefined && { firstError }),
  };
}

/** Runs `count` tasks one after another and returns the rate (for in-process calls). */
export async function tightLoop(seconds: number, task: () => Promise<unknown>): Promise<number> {
  // Warm-up: JIT and caches.
  const warm = performance.now() + 500;
  while (performance.now() < warm) await task();
  let count = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    await task();
    count++;
  }
  return count / ((performance.now() - start) / 1000);
}
