import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Memory and CPU of a process from /proc (Linux). */

const statusField = (pid: number, field: string): number =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) /
  1024;

/** Peak resident set size since start or the last resetPeak(), in MiB. */
export const peakRssMiB = (pid: number): number => statusField(pid, 'VmHWM');

export const rssMiB = (pid: number): number => statusField(pid, 'VmRSS');

/** Resets VmHWM to the current RSS (clear_refs "5"). */
export const resetPeak = (pid: number): void => writeFileSync(`/proc/${pid}/clear_refs`, '5');

const ticksPerSecond = 100; // USER_HZ on Linux

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** CPU seconds of this process (the load generator and the direct S3 client). */
export const ownCpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/**
 * The S3 server's own processes when it runs on this machine (the Ceph RGW test cluster: radosgw and
 * ceph-osd under CEPH_DIR), to report the CPU it spends next to Stowage's. Read only.
 */
export function s3ServerPids(): number[] {
  const conf = `${process.env.CEPH_DIR || '/tmp/stowage-ceph'}/ceph.conf`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes(conf) && /(radosgw|ceph-osd)$/.test(argv[0] ?? '')) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export const totalCpuSeconds = (pids: readonly number[]): number =>
  pids.reduce((sum, pid) => {
    try {
      return sum + cpuSeconds(pid);
    } catch {
      return sum;
    }
  }, 0);

export interface CpuUse {
  /** The Stowage child. */
  stowage: number;
  /** This process: the load generator, or the direct S3 client. */
  client: number;
  /** The S3 server's processes, when they run here (0 otherwise). */
  s3: number;
}

/** Starts counting CPU seconds; the returned function gives what each side used since. */
export function startCpuCount(stowagePid: number, s3Pids: readonly number[]): () => CpuUse {
  const stowage = cpuSeconds(stowagePid);
  const client = ownCpuSeconds();
  const s3 = totalCpuSeconds(s3Pids);
  return () => ({
    stowage: cpuSeconds(stowagePid) - stowage,
    client: ownCpuSeconds() - client,
    s3: totalCpuSeconds(s3Pids) - s3,
  });
}
