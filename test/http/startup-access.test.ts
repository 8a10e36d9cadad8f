import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StowageProcess, startStowageProcess } from '../support/stowage-process.ts';

/**
 * What the real process (src/server.ts) makes of open access and of the environment: anonymous reads
 * of a private storage are announced as OPEN at warn level, and CORS_ORIGINS sets the CORS origins
 * of a config file that has none.
 */

let root = '';
let stowage: StowageProcess | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-startup-'));
  stowage = await startStowageProcess(
    {
      server: { logLevel: 'warn' },
      local: { root },
      auth: { anonymousGrants: ['*:read'] },
      storages: { private: { driver: 'local' } },
    },
    { label: 'startup-access', env: { CORS_ORIGINS: 'http://localhost:5173' } },
  );
});

afterAll(async () => {
  await stowage?.kill();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('startup', () => {
  it('announces anonymous reads of a private storage as OPEN, at warn level', () => {
    const lines = stowage?.logs().map((line) => JSON.parse(line) as { level: number; msg: string }) ?? [];
    const access = lines.find((line) => line.msg.startsWith('access: '));
    expect(access).toMatchObject({ level: 40 });
    expect(access?.msg).toMatch(
      /^access: OPEN — anonymous requests may \*:read;.*CORS http:\/\/localhost:5173$/,
    );
  });

  it('takes the CORS origins from CORS_ORIGINS', async () => {
    const response = await fetch(`${stowage?.url}/v1/storages/private/objects`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'GET' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });
});
