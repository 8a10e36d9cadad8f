// Real clients for the tests that a fresh machine does not have (Chromium, nginx), installed from
// Debian's packages the first time a test needs them, as test/support/ceph-rgw.sh does for Ceph. A test
// that needs one fails when it cannot be installed: it is never skipped, so a green run means it ran.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const LOG = '/tmp/stowage-test-apt.log';
// Another test file may be installing at the same time: wait for dpkg's lock rather than fail.
const APT = ['-q', '-y', '-o', 'DPkg::Lock::Timeout=300'];
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

async function apt(args: string[]): Promise<void> {
  const { stdout, stderr } = await run('apt-get', [...APT, ...args], { env, maxBuffer: 64 << 20 });
  await appendFile(LOG, stdout + stderr);
}

/** Returns `path` once the package that provides it is installed (apt-get update only if needed). */
export async function ensureDebianPackage(path: string, pkg: string): Promise<string> {
  if (existsSync(path)) return path;
  const install = ['install', '--no-install-recommends', pkg];
  try {
    await apt(install);
  } catch {
    await apt(['update']).catch(() => {});
    try {
      await apt(install);
    } catch (error) {
      throw new Error(`could not install the Debian package ${pkg} (needs root and apt; log in ${LOG})`, {
        cause: error,
      });
    }
  }
  if (!existsSync(path)) throw new Error(`the Debian package ${pkg} installed no ${path}`);
  return path;
}

/** Headless Chromium for browser tests (driven by playwright-core; its own browser downloads are off). */
export const ensureChromium = (): Promise<string> => ensureDebianPackage('/usr/bin/chromium', 'chromium');

/** The launch flags every browser test uses: no sandbox as root, no GPU, no calls home. */
export const chromiumFlags = ['--no-sandbox', '--disable-gpu', '--disable-background-networking'];
