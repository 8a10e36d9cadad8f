import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdf, sha256 } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';
import { type StowageProcess, startStowageProcess } from '../support/stowage-process.ts';

/**
 * A Stowage process SIGKILLed in the middle of a PATCH to a local storage: another instance on the
 * same directory answers the offset of the bytes that reached the disk and takes the upload over at
 * once (the dead process's lease is stale as soon as its pid is gone), and the upload completes with
 * the original bytes.
 */
const MiB = 2 ** 20;
const SECRET = 'a-resumable-secret-of-at-least-32-chars';
const TUS = { 'tus-resumable': '1.0.0' };
const stowage = useStowage({
  storages: () => ({ tus: { driver: 'local', maxFileSize: '64MiB' } }),
  config: { resumable: { secret: SECRET } },
});
let victim: StowageProcess | undefined;

beforeAll(async () => {
  const parsed = stowage.config.storages.tus;
  victim = await startStowageProcess(
    {
      server: { logLevel: 'warn' },
      local: { root: stowage.config.local.root },
      auth: { anonymousGrants: ['*:*'] },
      resumable: { secret: SECRET },
      storages: {
        tus: {
          driver: 'local',
          maxFileSize: '64MiB',
          directory: parsed?.driver === 'local' ? parsed.directory : undefined,
        },
      },
    },
    { label: 'resumable-kill' },
  );
});
afterAll(async () => {
  await victim?.kill();
});

const offsetOf = async (location: string) =>
  Number((await fetch(location, { method: 'HEAD', headers: TUS })).headers.get('upload-offset'));

describe('local resumable upload, the instance SIGKILLed mid-PATCH', () => {
  it('another instance continues from what reached the disk, without waiting for the lease', async () => {
    const data = pdf(4 * MiB + 3);
    const created = await fetch(`${victim?.url}/v1/storages/tus/uploads`, {
      method: 'POST',
      headers: { ...TUS, 'upload-length': String(data.length) },
    });
    const location = created.headers.get('location') ?? '';
    const here = location.replace(victim?.url ?? '', stowage.url);
    // Half of the body, then the client keeps the request open: the victim is killed mid-PATCH.
    const cut = fetch(location, {
      method: 'PATCH',
      headers: { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(data.subarray(0, 2 * MiB));
        },
      }),
      duplex: 'half',
    } as RequestInit).catch((error: unknown) => error);
    while ((await offsetOf(here)) < 2 * MiB) await new Promise((resolve) => setTimeout(resolve, 20));
    await victim?.kill();
    expect(await cut).toBeInstanceOf(Error);

    const offset = await offsetOf(here);
    expect(offset).toBe(2 * MiB);
    const rest = await fetch(here, {
      method: 'PATCH',
      headers: { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
      body: data.subarray(offset),
    });
    expect(rest.status).toBe(200);
    const got = await fetch(here);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
  });
});
