import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveSigningSecret, SECRET_FILE } from '../../src/storage/drivers/local/signing-secret.ts';

/** The kept secret for local links: created once (0600, atomically), read back, never half-written. */
let root: string;
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});
const fresh = async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-secret-'));
  return root;
};

describe('resolveSigningSecret', () => {
  it('creates the root (0700) and a 0600 secret file, then reads the same secret back', async () => {
    const base = join(await fresh(), 'data');
    const created = await resolveSigningSecret({ root: base });
    expect(created.source).toBe('created');
    expect(created.secret.length).toBeGreaterThanOrEqual(32);
    expect((await stat(base)).mode & 0o777).toBe(0o700);
    expect((await stat(join(base, SECRET_FILE))).mode & 0o777).toBe(0o600);
    expect(await resolveSigningSecret({ root: base })).toEqual({ ...created, source: 'file' });
  });

  it('gives processes starting together over one root one secret', async () => {
    const base = await fresh();
    const all = await Promise.all(Array.from({ length: 8 }, () => resolveSigningSecret({ root: base })));
    expect(new Set(all.map((one) => one.secret)).size).toBe(1);
    expect((await readFile(join(base, SECRET_FILE), 'utf8')).trim()).toBe(all[0]?.secret);
  });

  it('a configured secret wins and writes nothing', async () => {
    const base = await fresh();
    const secret = 'a-configured-secret-of-at-least-32-chars';
    expect(await resolveSigningSecret({ root: base, signingSecret: secret })).toEqual({
      secret,
      source: 'config',
    });
    await expect(stat(join(base, SECRET_FILE))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a damaged file, naming it', async () => {
    const base = await fresh();
    await writeFile(join(base, SECRET_FILE), 'short\n');
    await expect(resolveSigningSecret({ root: base })).rejects.toThrow(/\.signing-secret holds no usable/);
  });
});
