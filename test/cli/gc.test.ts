import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { collectGarbage } from '../../src/cli/gc.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { S3ProfileConfig } from '../../src/config/schema.ts';
import { createCleanups } from '../../src/storage/drivers/s3/background-cleanups.ts';
import type { S3Context } from '../../src/storage/drivers/s3/context.ts';
import {
  appendResumable,
  beginResumable,
  resumableState,
  STATE_PREFIX,
  s3ResumableStore,
} from '../../src/storage/drivers/s3/resumable.ts';
import { DIRECT_STAGING_PREFIX } from '../../src/storage/keys.ts';
import type { ResumableUpload } from '../../src/storage/resumable/store.ts';
import { newWriteId } from '../../src/storage/resumable/upload-id.ts';
import { listAllKeys, listMultipartUploads } from '../support/s3-admin.ts';
import { useStowage } from '../support/stowage.ts';
import { s3Connection } from '../support/stowage-process.ts';
import { configFile, runCli } from './run-cli.ts';

/**
 * `stowage gc` (issue 14, point 5) on real Ceph: resumable uploads left in every state a bucket can
 * hold — expired with a part, a tail and a killed instance's lease; expired before any byte (only
 * its reservation); finished, with a tail a crash left; still running; and an expired one on another
 * storage of the bucket — then `gc --dry-run` names exactly what `gc` removes, `gc` removes it and
 * nothing else, the running upload still finishes, and a second run finds nothing. Then direct
 * uploads staged at the bucket root and never finalized: removed once past direct.expiry, and only
 * those.
 *
 * The uploads are made with the S3 driver's own functions and a reservation margin of one second
 * (Stowage's is server.requestTimeout + 5 min, since a PATCH accepted just before the expiry may
 * run that long): the reservation is what gc goes by.
 */
const MiB = 2 ** 20;
const PART = 5 * MiB;
const stowage = useStowage({
  buckets: ['gc'],
  storages: (buckets) => ({
    g: { driver: 's3', bucket: buckets.gc ?? '', prefix: 'up/', partSize: '5MiB', maxFileSize: '64MiB' },
    other: {
      driver: 's3',
      bucket: buckets.gc ?? '',
      prefix: 'other/',
      partSize: '5MiB',
      maxFileSize: '64MiB',
    },
  }),
});
const files: string[] = [];
afterAll(async () => {
  await Promise.all(files.map((file) => rm(file, { force: true })));
});

function context(storage: 'g' | 'other', reservationTtlSeconds: number): S3Context {
  const profile = stowage.config.storages[storage] as S3ProfileConfig;
  return {
    client: stowage.s3,
    bucket: profile.bucket,
    profile,
    connection: { requestTimeout: 30 },
    reservationTtlSeconds,
    cleanups: createCleanups(60_000),
  } as unknown as S3Context;
}

/** A resumable upload of `length` bytes, expiring in `expiresInMs`, with `sent` bytes appended. */
async function upload(
  storage: 'g' | 'other',
  expiresInMs: number,
  length: number,
  sent: Buffer | undefined,
): Promise<ResumableUpload> {
  const ctx = context(storage, expiresInMs < 60_000 ? 1 : 300);
  const made = {
    key: `${storage === 'g' ? 'up' : 'other'}/${randomBytes(8).toString('hex')}.bin`,
    writeId: newWriteId(),
    length,
    partSize: PART,
    expiresAt: Date.now() + expiresInMs,
  };
  await beginResumable(ctx, made);
  if (sent) await append(storage, made, sent);
  return made;
}

async function append(storage: 'g' | 'other', upload: ResumableUpload, chunk: Buffer) {
  const ctx = context(storage, 300);
  const state = await resumableState(ctx, upload);
  if (state.status !== 'open') throw new Error(`expected an open upload, got ${state.status}`);
  return appendResumable(ctx, {
    upload,
    state,
    body: Readable.from([chunk]),
    buffer: Buffer.alloc(PART),
    describe: async () => ({ contentType: 'application/octet-stream', contentDisposition: 'attachment' }),
  });
}

async function gcConfig(): Promise<string> {
  const { gc } = stowage.buckets;
  const path = await configFile(
    {
      s3: s3Connection(inject('s3')),
      storages: {
        g: { driver: 's3', bucket: gc, prefix: 'up/' },
        other: { driver: 's3', bucket: gc, prefix: 'other/' },
      },
    },
    'gc',
  );
  files.push(path);
  return path;
}

const bucketContents = async () => ({
  keys: await listAllKeys(stowage.buckets.gc ?? ''),
  uploads: (await listMultipartUploads(stowage.buckets.gc ?? '')).map((one) => one.key).sort(),
});

describe('stowage gc', () => {
  it('removes what expired or finished uploads left, names each thing, and keeps running uploads whole', async () => {
    const data = randomBytes(8 * MiB);
    // Expired with part 1 and a 1 MiB tail in S3, and the lease of an instance killed mid-PATCH.
    const expired = await upload('g', 300, 8 * MiB, randomBytes(PART + MiB));
    await s3ResumableStore(context('g', 1)).lease(expired);
    // Expired before its first byte: only its reservation.
    const untouched = await upload('g', 300, MiB, undefined);
    // Finished, and a tail its last request left (it died between completion and clean-up).
    const finished = await upload('g', 3_600_000, MiB, randomBytes(MiB));
    const strayTail = `${STATE_PREFIX}${finished.key}/tail-00001`;
    await stowage.s3.send(
      new PutObjectCommand({ Bucket: stowage.buckets.gc, Key: strayTail, Body: randomBytes(1000) }),
    );
    // Running: must survive whole.
    const running = await upload('g', 3_600_000, data.length, data.subarray(0, PART + MiB));
    // Expired, on another storage: out of reach of `--storage g`.
    const elsewhere = await upload('other', 300, 8 * MiB, randomBytes(PART + MiB));
    await new Promise((resolve) => setTimeout(resolve, 2500)); // every short reservation expires

    const path = await gcConfig();
    const before = await bucketContents();
    const dry = await runCli(['gc', '--config', path, '--storage', 'g', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    const expiredUploadId = (await listMultipartUploads(stowage.buckets.gc ?? '')).find(
      (one) => one.key === expired.key,
    )?.uploadId;
    const expected = (verb: { abort: string; delete: string }) =>
      [
        `g: ${verb.abort} ${expired.key} (${expiredUploadId}): its reservation expired`,
        `g: ${verb.delete} ${STATE_PREFIX}${expired.key}/lease: the upload of ${expired.key} expired`,
        `g: ${verb.delete} ${STATE_PREFIX}${expired.key}/tail-00002: the upload of ${expired.key} expired`,
        `g: ${verb.delete} ${strayTail}: the upload of ${finished.key} finished or was terminated`,
        `g: ${verb.delete} ${expired.key}: a reservation that expired`,
        `g: ${verb.delete} ${untouched.key}: a reservation that expired`,
      ].sort();
    const lines = (stdout: string) =>
      stdout
        .trim()
        .split('\n')
        .map((line) => line.replace(/ \d{4}-\d\d-\d\dT[\d:.]+Z$/, ''))
        .sort();
    expect(lines(dry.stdout)).toEqual(
      expected({ abort: 'would abort multipart upload', delete: 'would delete' }),
    );
    expect(dry.stderr).toContain('would remove 6 items');
    expect(await bucketContents()).toEqual(before);

    const run = await runCli(['gc', '--config', path, '--storage', 'g']);
    expect(run.code, run.stderr).toBe(0);
    expect(lines(run.stdout)).toEqual(expected({ abort: 'aborted multipart upload', delete: 'deleted' }));
    const after = await bucketContents();
    expect(after.uploads).toEqual([running.key, elsewhere.key].sort());
    expect(after.keys).toEqual(
      [
        `${STATE_PREFIX}${elsewhere.key}/tail-00002`,
        `${STATE_PREFIX}${running.key}/tail-00002`,
        elsewhere.key,
        finished.key,
        running.key,
      ].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    expect((await resumableState(context('g', 300), expired)).status).toBe('gone');

    // The running upload goes on and finishes, bytes identical.
    expect((await append('g', running, data.subarray(PART + MiB))).finished).toBeDefined();
    expect((await stowage.backend('g').object(running.key)).body.equals(data)).toBe(true);

    const again = await runCli(['gc', '--config', path, '--storage', 'g']);
    expect([again.code, again.stdout, again.stderr]).toEqual([0, '', 'removed 0 items\n']);
    // Without --storage, every S3 storage: the other one's expired upload goes too.
    const all = await runCli(['gc', '--config', path]);
    expect(all.stdout).toContain(`other: aborted multipart upload ${elsewhere.key}`);
    expect(await bucketContents()).toEqual({ keys: [finished.key, running.key].sort(), uploads: [] });
  });

  it('removes staged direct uploads (objects, multipart uploads) past direct.expiry, once per bucket, and keeps younger ones', async () => {
    const Bucket = stowage.buckets.gc ?? '';
    /** What a browser leaves after sign: a staged object, or an open multipart upload with a part. */
    const stage = async (label: string) => {
      const object = `${DIRECT_STAGING_PREFIX}${randomBytes(16).toString('hex')}.${label}`;
      await stowage.s3.send(new PutObjectCommand({ Bucket, Key: object, Body: randomBytes(1000) }));
      const multipart = `${DIRECT_STAGING_PREFIX}${randomBytes(16).toString('hex')}.${label}-multipart`;
      const { UploadId } = await stowage.s3.send(
        new CreateMultipartUploadCommand({ Bucket, Key: multipart }),
      );
      await stowage.s3.send(
        new UploadPartCommand({ Bucket, Key: multipart, UploadId, PartNumber: 1, Body: randomBytes(1000) }),
      );
      return { object, multipart, uploadId: UploadId ?? '' };
    };
    const old = await stage('old');
    const staged = Date.now();
    // S3 dates are whole seconds: 3 s keep the younger uploads' dates clear of the cutoff below.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const young = await stage('young');

    const document = {
      s3: s3Connection(inject('s3')),
      direct: { expiry: '1h' },
      storages: {
        g: { driver: 's3', bucket: Bucket, prefix: 'up/' },
        other: { driver: 's3', bucket: Bucket, prefix: 'other/' },
      },
    };
    const config = parseConfig(document, {});
    // Now, nothing is old enough: the CLI as run removes nothing.
    const path = await configFile(document, 'gc-direct');
    files.push(path);
    const now = await runCli(['gc', '--config', path]);
    expect([now.code, now.stdout, now.stderr]).toEqual([0, '', 'removed 0 items\n']);

    // Later: past direct.expiry and the write margin for the old ones, not for the young ones.
    const margin = (config.server.requestTimeout + config.limits.uploadQueueTimeout + 300) * 1000;
    const lines: string[] = [];
    // A storage at the bucket root lists the staging area with its own uploads: past the write age,
    // still within direct.expiry, they stay.
    const rooted = parseConfig(
      {
        ...document,
        direct: { expiry: '24h' },
        storages: { root: { driver: 's3', bucket: Bucket, prefix: '' } },
      },
      {},
    );
    const early = await collectGarbage(rooted, {
      only: [],
      dryRun: true,
      now: staged + 1000 + margin + 60_000,
      report: (line) => lines.push(line),
    });
    expect([early.removed, lines]).toEqual([0, []]);

    const later = staged + 1000 + config.direct.expiry * 1000 + margin;
    const run = (dryRun: boolean) =>
      collectGarbage(config, { only: [], dryRun, now: later, report: (line) => lines.push(line) });
    expect(await run(true)).toEqual({ removed: 2, failures: 0 });
    const expected = (verb: { abort: string; delete: string }) => [
      expect.stringMatching(
        `^g: ${verb.abort} ${old.multipart} \\(${old.uploadId}\\): a direct upload past direct.expiry, started `,
      ),
      expect.stringMatching(
        `^g: ${verb.delete} ${old.object}: a direct upload past direct.expiry, never finalized`,
      ),
    ];
    // Collected with the bucket's first storage only, though both storages' runs would list it.
    expect(lines).toEqual(expected({ abort: 'would abort multipart upload', delete: 'would delete' }));
    lines.length = 0;
    expect(await run(false)).toEqual({ removed: 2, failures: 0 });
    expect(lines).toEqual(expected({ abort: 'aborted multipart upload', delete: 'deleted' }));
    const after = await bucketContents();
    expect(after.keys.filter((key) => key.startsWith(DIRECT_STAGING_PREFIX))).toEqual([young.object]);
    expect(after.uploads.filter((key) => key.startsWith(DIRECT_STAGING_PREFIX))).toEqual([young.multipart]);

    // Once the young ones are as old, they go too, and the staging area is empty.
    lines.length = 0;
    const { removed } = await collectGarbage(config, {
      only: [],
      dryRun: false,
      now: later + 10_000,
      report: (line) => lines.push(line),
    });
    expect(removed).toBe(2);
    const end = await bucketContents();
    expect(end.keys.filter((key) => key.startsWith(DIRECT_STAGING_PREFIX))).toEqual([]);
    expect(end.uploads).toEqual([]);
  });
});
