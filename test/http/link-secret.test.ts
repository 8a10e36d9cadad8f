import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type StowageProcess, startStowageProcess } from '../support/stowage-process.ts';

/**
 * Links to local objects survive a restart: without local.signingSecret the server keeps the secret
 * it generated under local.root (0600) and reads it back, and its startup log says which secret it
 * signs with. Real processes, one after the other, over one root.
 */

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function freshRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'stowage-link-secret-'));
  roots.push(root);
  return root;
}

const configOver = (root: string, local: Record<string, unknown> = {}) => ({
  server: { logLevel: 'info' },
  local: { root, ...local },
  auth: { anonymousGrants: ['*:*'] },
  storages: { private: { driver: 'local', access: 'private' } },
});

/** Starts a process over `config`, runs `use` against it, and always ends it. */
async function withProcess<T>(
  config: ReturnType<typeof configOver>,
  label: string,
  use: (p: StowageProcess) => Promise<T>,
) {
  const stowage = await startStowageProcess(config, { label });
  try {
    return await use(stowage);
  } finally {
    await stowage.kill();
  }
}

/** Uploads one object and returns a link to it: its path and query, which any instance can serve. */
async function uploadAndLink(stowage: StowageProcess): Promise<string> {
  const put = await fetch(`${stowage.url}/v1/storages/private/objects/report.txt`, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain' },
    body: 'kept across restarts',
  });
  expect(put.status).toBe(201);
  const answer = await fetch(`${stowage.url}/v1/storages/private/urls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key: 'report.txt', expiresIn: 600 }),
  });
  expect(answer.status).toBe(200);
  const { url } = (await answer.json()) as { url: string };
  const link = new URL(url);
  return `${link.pathname}${link.search}`;
}

const secretLine = (stowage: StowageProcess) =>
  stowage.logs().find((line) => line.includes('local links are signed with'));

describe('without local.signingSecret', () => {
  it('a link issued before a restart still serves its object after it', async () => {
    const root = await freshRoot();
    const link = await withProcess(configOver(root), 'link-secret-first', async (first) => {
      expect(secretLine(first)).toContain(`a new secret generated into ${join(root, '.signing-secret')}`);
      return uploadAndLink(first);
    });
    expect((await stat(join(root, '.signing-secret'))).mode & 0o777).toBe(0o600);

    await withProcess(configOver(root), 'link-secret-second', async (second) => {
      expect(secretLine(second)).toContain(`the secret kept in ${join(root, '.signing-secret')}`);
      const response = await fetch(`${second.url}${link}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('kept across restarts');
      // Still a signature: the same link, tampered, is refused.
      expect((await fetch(`${second.url}${link.replace('expires=', 'expires=1')}`)).status).toBe(403);
    });
  });
});

describe('with local.signingSecret', () => {
  it('signs with it, keeps no secret file, and says so', async () => {
    const root = await freshRoot();
    const config = configOver(root, { signingSecret: 'a-configured-secret-of-at-least-32-chars' });
    const link = await withProcess(config, 'link-secret-configured', async (first) => {
      expect(secretLine(first)).toMatch(/signed with local\.signingSecret"/);
      return uploadAndLink(first);
    });
    await expect(stat(join(root, '.signing-secret'))).rejects.toThrow(/ENOENT/);
    await withProcess(config, 'link-secret-configured-again', async (second) => {
      expect((await fetch(`${second.url}${link}`)).status).toBe(200);
    });
  });
});
