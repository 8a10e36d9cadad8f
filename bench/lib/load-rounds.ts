import type { BenchContext } from './context.ts';
import { closedLoop, type LoadResult } from './load.ts';
import { type CpuUse, startCpuCount } from './proc.ts';
import { fixed } from './report.ts';

export interface LoadPath {
  name: string;
  /** The process doing the proxy's work (Stowage or a relay); absent on the direct path. */
  pid: number | undefined;
  /** One request, writing `key`. */
  run(key: string): Promise<unknown>;
}

export interface LoadSample extends LoadResult {
  /** CPU milliseconds per request of each side (the proxy's is 0 on the direct path). */
  cpu: CpuUse;
}

/**
 * Closed-loop rounds of every path (`concurrency` requests always in flight, `seconds` after a 2 s
 * warm-up), rotating the order each round as transferRounds does for single transfers, with the CPU of
 * the path's proxy, this process and `s3Pids` counted over each measured window.
 */
export async function loadRounds(input: {
  context: BenchContext;
  label: string;
  paths: readonly LoadPath[];
  concurrency: number;
  seconds: number;
  /** Stowage's pid, for CPU counting on the direct path (where it stays idle). */
  idlePid: number;
  s3Pids: readonly number[];
}): Promise<Map<string, LoadSample[]>> {
  const { context, paths } = input;
  const samples = new Map<string, LoadSample[]>(paths.map((path) => [path.name, []]));
  for (let round = 0; round < context.options.rounds; round++) {
    for (const path of paths.map((_, index) => paths[(index + round) % paths.length]!)) {
      const prefix = `${input.label}/${round}-${paths.indexOf(path)}`;
      let count: (() => CpuUse) | undefined;
      let cpu: CpuUse = { stowage: 0, client: 0, s3: 0 };
      const result = await closedLoop({
        concurrency: input.concurrency,
        seconds: input.seconds,
        warmupSeconds: 2,
        onWindow: (edge) => {
          if (edge === 'start') count = startCpuCount(path.pid ?? input.idlePid, input.s3Pids);
          else if (count) cpu = count();
        },
        task: async (n) => {
          await path.run(`${prefix}/${n}`);
        },
      });
      const perRequest = (seconds: number) => (seconds * 1000) / Math.max(1, result.requests);
      samples.get(path.name)!.push({
        ...result,
        cpu: {
          stowage: path.pid === undefined ? 0 : perRequest(cpu.stowage),
          client: perRequest(cpu.client),
          s3: perRequest(cpu.s3),
        },
      });
      context.log(
        `${input.label} round ${round + 1} ${path.name}: ${fixed(result.perSecond)} req/s, p50 ${fixed(result.p50, 1)} ms, ` +
          `p99 ${fixed(result.p99, 1)} ms, ${result.errors} errors${result.firstError ? ` (${result.firstError})` : ''}`,
      );
    }
  }
  return samples;
}
