import { execFileSync } from 'node:child_process';

/**
 * How the bench's processes share the machine's two CPUs.
 *
 * - `shared` (default): every process may use both cores; Stowage's CPU competes with the S3 server's.
 * - `pinned` (`--pinned`): Stowage (and each reference proxy) on CPU 1 alone; the S3 server and this
 *   process (the load generator on the Stowage paths, the S3 client itself on the direct ones) on
 *   CPU 0. Shows whether Stowage's own core is its limit; not like-for-like, since on CPU 0 the direct
 *   path's S3 client costs the S3 server more than the Stowage paths' load generator does.
 * - `s3-apart` (`--s3-apart`): the S3 server on CPU 0 alone; this process, Stowage and the proxies on
 *   CPU 1. A model of S3 being elsewhere, as it is in a deployment: every path has the same S3 server
 *   and the same single core on the client side — for the S3 client alone on the direct paths, for the
 *   load generator *and* Stowage on the Stowage paths — so the ratio says whether Stowage keeps up
 *   with S3 while sharing a core with its own client (a handicap real deployments do not have).
 */
export type Layout = 'shared' | 'pinned' | 's3-apart';

/** The core Stowage and the reference proxies get under either pinned layout. */
export const PROXY_CPU = '1';
const S3_CPU = '0';

export const layoutLabel: Record<Layout, string> = {
  shared: '',
  pinned: 'pinned: Stowage on CPU 1; S3 server and bench process on CPU 0',
  's3-apart': 'S3 apart: S3 server on CPU 0; bench process and Stowage on CPU 1',
};

const setAffinity = (pid: number, cpus: string) =>
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });

/** "pid 42's current affinity list: 0,1" → "0,1". */
const affinityOf = (pid: number): string =>
  execFileSync('taskset', ['-p', '-c', String(pid)], { encoding: 'utf8' })
    .split(': ')[1]
    ?.trim() ?? '0-1';

/** Pins a process doing Stowage's job (Stowage, or a reference proxy) to the proxies' core. */
export function pinProxy(pid: number): void {
  setAffinity(pid, PROXY_CPU);
}

/**
 * Pins this process and the S3 server's processes for `layout`; returns a function that puts back
 * what they had (so a scenario with a layout of its own, `overhead`, leaves the run's in place).
 */
export function pinLayout(layout: Layout, s3Pids: number[]): () => void {
  if (layout === 'shared') return () => {};
  const placed: Array<[number, string]> = [
    [process.pid, layout === 'pinned' ? S3_CPU : PROXY_CPU],
    ...s3Pids.map((pid): [number, string] => [pid, S3_CPU]),
  ];
  const before = placed.map(([pid]): [number, string] => [pid, affinityOf(pid)]);
  for (const [pid, cpus] of placed) setAffinity(pid, cpus);
  return () => {
    for (const [pid, cpus] of before) {
      try {
        setAffinity(pid, cpus);
      } catch {
        // gone meanwhile
      }
    }
  };
}
