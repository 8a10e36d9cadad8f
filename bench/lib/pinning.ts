import { execFileSync } from 'node:child_process';

/**
 * `--pinned`: Stowage gets CPU 1 to itself; the S3 server and this process (the load generator on the
 * Stowage paths, the S3 client itself on the direct ones) share CPU 0. A model of a deployment where
 * Stowage has its own core and S3 is elsewhere: both kinds of path then have the S3 server and one
 * HTTP client on CPU 0, and the Stowage paths add Stowage, on a core of its own. Without it everything
 * shares both cores and Stowage's CPU competes with the S3 server's.
 */
export const STOWAGE_CPU = '1';
const SHARED_CPU = '0';

const setAffinity = (pid: number, cpus: string) =>
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });

/** Pins a process doing Stowage's job (Stowage, or a reference proxy) to Stowage's CPU. */
export function pinToStowageCpu(pid: number): void {
  setAffinity(pid, STOWAGE_CPU);
}

/** Pins this process and `s3Pids` to the shared CPU; returns a function that unpins them. */
export function pinSharedProcesses(s3Pids: number[]): () => void {
  const pids = [process.pid, ...s3Pids];
  for (const pid of pids) setAffinity(pid, SHARED_CPU);
  return () => {
    for (const pid of pids) {
      try {
        setAffinity(pid, '0-1');
      } catch {
        // gone meanwhile
      }
    }
  };
}
