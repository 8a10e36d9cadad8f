import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What a Docker engine changes on the host's network when it is let: the engine here must not. */
export interface HostNetwork {
  interfaces: string[];
  routes: string;
  ipForward: string;
  /** `iptables-save` without its comment lines; null where there is no iptables. */
  iptables: string | null;
}

export async function hostNetwork(): Promise<HostNetwork> {
  const iptables = await run('iptables-save').then(
    ({ stdout }) =>
      stdout
        .split('\n')
        .filter((line) => !line.startsWith('#'))
        .join('\n'),
    () => null,
  );
  return {
    interfaces: (await readdir('/sys/class/net')).sort(),
    routes: await readFile('/proc/net/route', 'utf8'),
    ipForward: (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim(),
    iptables,
  };
}
