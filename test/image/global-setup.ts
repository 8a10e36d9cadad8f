// Vitest globalSetup of the image project: starts the private Docker engine (test/support/
// docker-engine.sh, which installs docker.io when missing) for the whole run and stops it at the
// end, whatever the tests did. Where no engine can be started (no root, no apt, no kernel support)
// the tests get the reason instead and skip with it; any other failure of the script fails the run.

import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { runScript } from '../support/script.ts';
import { type HostNetwork, hostNetwork } from './host-network.ts';

/** How the image tests reach the engine (and the host's network before it started), or why there is none. */
export type DockerEngine = { host: string; networkBefore: HostNetwork } | { unavailable: string };

declare module 'vitest' {
  export interface ProvidedContext {
    docker: DockerEngine;
  }
}

const SCRIPT = fileURLToPath(new URL('../support/docker-engine.sh', import.meta.url));
/** The script's answer for "no engine can be started here" (its stdout says why). */
const CANNOT_START = 3;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const user = String(process.pid);
  const networkBefore = await hostNetwork();
  const started = await runScript(SCRIPT, ['start', user]);
  if (started.code === CANNOT_START) {
    const unavailable = started.stdout.trim() || 'no reason given';
    process.stderr.write(`[docker] no Docker engine, the image tests are skipped: ${unavailable}\n`);
    project.provide('docker', { unavailable });
    return async () => {};
  }
  if (started.code !== 0) throw new Error(`docker-engine.sh start failed (exit ${started.code})`);
  project.provide('docker', { host: started.stdout.trim(), networkBefore });
  return async () => {
    const stopped = await runScript(SCRIPT, ['stop', user]);
    if (stopped.code !== 0) throw new Error(`docker-engine.sh stop failed (exit ${stopped.code})`);
  };
}
