import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { STATE_PREFIX } from '../../src/storage/drivers/s3/resumable.ts';
import { type Nginx, startNginx } from '../support/nginx.ts';
import { png, sha256 } from '../support/payloads.ts';
import {
  createTestBucket,
  emptyAndDeleteBucket,
  listAllKeys,
  listMultipartUploads,
  s3Client,
} from '../support/s3-admin.ts';
import { type StowageProcess, s3Connection, startStowageProcess } from '../support/stowage-process.ts';

/**
 * Issue 14, point 1: three Stowage processes on one bucket with one `resumable.secret`, behind nginx
 * (round robin, no sticky sessions), and tus-js-client in Node uploading 200 MiB in 8 MiB chunks
 * through it. Halfway, the instance serving a PATCH is SIGKILLed with the request open: the upload
 * must finish through the other two from the offset S3 holds, bytes identical, and leave nothing in
 * S3 but the object.
 *
 * The part size (5 MiB) is not the chunk size on purpose: chunks end mid-part, so the upload goes
 * through tails, and the killed PATCH dies after one of its parts reached S3 and before its own tail
 * was written — the case where an instance that counted bytes in memory would be wrong.
 */
const MiB = 2 ** 20;
const SIZE = 200 * MiB;
const CHUNK = 8 * MiB;
/** The killed PATCH: the one sent at this offset (a tail of 3 MiB before it: 48 = 9 parts + 3). */
const KILLED_AT = 48 * MiB;
/** How far its body gets before the client stalls: the tail and 2 MiB fill part 10 (45–50 MiB). */
const SENT_BEFORE_KILL = 6 * MiB;
const PART_10_END = 50 * MiB;
const SECRET = 'a-resumable-secret-shared-by-the-three-instances';

let bucket = '';
let client: S3Client;
let instances: StowageProcess[] = [];
let nginx: Nginx | undefined;

beforeAll(async () => {
  const s3 = inject('s3');
  bucket = await createTestBucket(s3, 'tus-nginx');
  client = s3Client(s3);
  const config = {
    // debug: the arrival line of each request, so the test sees which instance holds an open PATCH.
    server: { logLevel: 'debug' },
    s3: s3Connection(s3),
    auth: { anonymousGrants: ['*:*'] },
    resumable: { secret: SECRET },
    storages: { tus: { driver: 's3', bucket, partSize: '5MiB', maxFileSize: '256MiB' } },
  };
  instances = await Promise.all(
    [1, 2, 3].map((n) => startStowageProcess(config, { label: `tus-nginx-${n}` })),
  );
  nginx = await startNginx(instances.map((instance) => new URL(instance.url).host));
});

afterAll(async () => {
  await nginx?.stop();
  await Promise.all(instances.map((instance) => instance.kill()));
  if (bucket) await emptyAndDeleteBucket(bucket, client);
  client?.destroy();
});

/**
 * tus-js-client's own Node HTTP stack, recording each PATCH's Upload-Offset and answer, except that
 * the PATCH sent at `stallAt` sends `sendFirst` bytes of its body and then nothing until `resume()`:
 * a client whose link stalls mid-chunk, so the instance serving it can be killed with the request
 * open (on loopback an 8 MiB body is otherwise sent in milliseconds).
 */
function stallingStack(stallAt: number, sendFirst: number) {
  const stack = new tus.DefaultHttpStack({});
  const patches: Array<{ offset: number; status: number | string }> = [];
  let posts = 0;
  let resume: () => void = () => {};
  const resumed = new Promise<void>((resolve) => {
    resume = resolve;
  });
  let onStall: () => void = () => {};
  const stalled = new Promise<void>((resolve) => {
    onStall = resolve;
  });
  let armed = true;
  const httpStack: tus.HttpStack = {
    getName: () => 'stalling NodeHttpStack',
    createRequest(method, url) {
      const request = stack.createRequest(method, url);
      if (method === 'POST') posts++;
      if (method !== 'PATCH') return request;
      const send = request.send.bind(request);
      request.send = async (body: unknown) => {
        const entry = {
          offset: Number(request.getHeader('Upload-Offset')),
          status: 'sent' as number | string,
        };
        patches.push(entry);
        let sent: unknown = body;
        if (armed && entry.offset === stallAt && body instanceof Uint8Array) {
          armed = false;
          const stream = new ReadableStream({ read() {} });
          stream.push(body.subarray(0, sendFirst));
          onStall();
          void resumed.then(() => {
            stream.push(body.subarray(sendFirst));
            stream.push(null);
          });
          sent = stream satisfies Readable;
        }
        try {
          const response = await send(sent);
          entry.status = response.getStatus();
          return response;
        } catch (error) {
          entry.status = (error as Error).message;
          throw error;
        }
      };
      return request;
    },
  };
  return { httpStack, patches, stalled, resume, posts: () => posts };
}

/** The instance whose log has an arrival line for a PATCH and no completion line for it. */
function servingPatch(): StowageProcess[] {
  return instances.filter((instance) => {
    const open = new Set<string>();
    for (const line of instance.logs()) {
      const entry = parseLogLine(line);
      if (entry?.reqId === undefined) continue;
      if (entry.msg === 'incoming request' && entry.req?.method === 'PATCH') open.add(entry.reqId);
      else if (entry.msg !== 'incoming request') open.delete(entry.reqId);
    }
    return open.size > 0;
  });
}

/** A pino JSON line, or undefined for anything else (e.g. a line the pipe split in two). */
function parseLogLine(line: string): { msg?: string; reqId?: string; req?: { method?: string } } | undefined {
  try {
    return JSON.parse(line) as { msg?: string; reqId?: string; req?: { method?: string } };
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function headOffset(location: string): Promise<number> {
  const answer = await fetch(location, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } });
  return answer.status === 200 ? Number(answer.headers.get('upload-offset')) : -answer.status;
}

async function storedSha256(key: string): Promise<string> {
  const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of output.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe('tus through nginx over three instances, one SIGKILLed mid-PATCH', () => {
  it('uploads 200 MiB in 8 MiB chunks: the upload finishes through the others, bytes identical, nothing left but the object', async () => {
    const proxy = nginx as Nginx;
    const data = png(SIZE);
    const tusClient = stallingStack(KILLED_AT, SENT_BEFORE_KILL);
    let location = '';
    let succeeded: () => void = () => {};
    let failed: (error: Error) => void = () => {};
    const finished = new Promise<void>((resolve, reject) => {
      succeeded = resolve;
      failed = reject;
    });
    const upload: tus.Upload = new tus.Upload(data, {
      endpoint: `${proxy.url}/v1/storages/tus/uploads`,
      chunkSize: CHUNK,
      metadata: { filename: 'big.png', filetype: 'image/png' },
      httpStack: tusClient.httpStack,
      // No retryDelays: tus-js-client's defaults (0, 1, 3, 5 s). The survivors answer 423 while the
      // killed instance's lease on the upload runs out (a few seconds, lease.ts), and it retries 423.
      onUploadUrlAvailable: () => {
        location = upload.url ?? '';
      },
      onSuccess: () => succeeded(),
      onError: (error) => failed(error),
    });
    expect(upload.options.retryDelays).toEqual([0, 1000, 3000, 5000]);
    upload.start();

    await tusClient.stalled;
    // Part 10 is in S3 (the PATCH's tail and its first 2 MiB) and 4 MiB more sit in the instance's
    // part buffer: every instance derives the same offset from S3.
    await until('part 10 in S3', async () =>
      (await headOffset(location)) === PART_10_END ? true : undefined,
    );
    const [victim, ...others] = await until('the instance serving the PATCH', () => {
      const serving = servingPatch();
      return serving.length === 1 ? serving : undefined;
    });
    expect(others).toEqual([]);
    const killed = victim as StowageProcess;
    process.kill(killed.pid, 'SIGKILL');
    await killed.exited;
    expect(killed.alive()).toBe(false);
    tusClient.resume();
    await finished;

    // No restart from 0, no second upload: after the killed PATCH the client went on at the offset
    // S3 held (part 10's end, not the chunk it had been sending), through the other instances.
    expect(tusClient.posts()).toBe(1);
    const offsets = tusClient.patches.map((one) => one.offset);
    const killedIndex = offsets.indexOf(KILLED_AT);
    expect(tusClient.patches[killedIndex]?.status).not.toBe(204);
    const after = tusClient.patches.slice(killedIndex + 1);
    expect(after[0]?.offset).toBe(PART_10_END);
    expect(after.every((one) => one.offset >= PART_10_END)).toBe(true);
    expect(offsets.filter((offset) => offset === 0)).toHaveLength(1);
    // nginx's log: after the PATCH that failed with the killed instance, every PATCH that succeeded
    // was served by one of the other two.
    const patchLines = (await proxy.accessLog()).filter((line) => line.startsWith('PATCH '));
    const failedAt = patchLines.findIndex((line) => !/^PATCH 20[04] /.test(line));
    expect(failedAt).toBeGreaterThan(0);
    const survivors = instances.filter((one) => one !== killed).map((one) => new URL(one.url).host);
    const servedAfter = patchLines
      .slice(failedAt + 1)
      .filter((line) => /^PATCH 20[04] /.test(line))
      .map((line) => line.split(' ').at(-1) ?? '');
    expect(servedAfter.length).toBeGreaterThan(0);
    expect(servedAfter.filter((address) => !survivors.includes(address))).toEqual([]);

    // Bytes identical, read from S3 itself.
    const keys = await listAllKeys(bucket, '', client);
    expect(keys).toHaveLength(1);
    const key = keys[0] as string;
    expect(await storedSha256(key)).toBe(sha256(data));
    // Nothing else: no multipart upload (the killed one's included), no tail or lease.
    expect(await listMultipartUploads(bucket, client)).toEqual([]);
    expect(await listAllKeys(bucket, STATE_PREFIX, client)).toEqual([]);
    expect(key.startsWith(STATE_PREFIX)).toBe(false);
  }, 300_000);
});
