import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3ProfileConfig } from '../../../config/schema.ts';
import { DIRECT_STAGING_PREFIX } from '../../keys.ts';
import { isNotFound, s3ErrorCode } from './errors.ts';
import { listed, multipartUploads } from './gc-listing.ts';
import { collectStaged } from './gc-staged.ts';
import { withIfMatch } from './if-match.ts';
import { isReservation, reservationExpiry } from './metadata.ts';
import { etagIsBodyMd5 } from './params.ts';
import { isListedReservation, mayBeReservation } from './reservation-body.ts';
import { STATE_PREFIX, stateOwner } from './resumable.ts';

/**
 * `stowage gc` for one S3 storage: what lifecycle rules would remove, for servers without them (or
 * to clean up now), decided by what S3 holds and never by age alone where S3 says more:
 * 1. **multipart uploads** under the storage's prefix: aborted when the key's reservation has expired
 *    (its writer — a resumable upload past its expiry, or a form upload whose instance died — can no
 *    longer complete it), or when no reservation holds the key and the upload is older than any
 *    write can last (`maxWriteAgeMs`: a finished or terminated upload's leftover, or a dead instance's
 *    on an overwriting storage, which reserves nothing);
 * 2. **resumable state** (tails, leases) under the hidden prefix: deleted when its upload's
 *    reservation has expired or is gone (the upload finished or was terminated);
 * 3. **reservations** whose expiry passed: deleted last (If-Match on the ETag just read), since while
 *    a reservation is there the rest is still found by its key. Found by listing the prefix: entries
 *    of a reservation's size and ETag (any of its sizes on KMS storages, whose ETags are not MD5s).
 * 4. **staged direct uploads** at the bucket root (gc-staged.ts), when `maxStagedAgeMs` is given.
 * A key's reservation is read once per run. Every step is idempotent: a run cut short is run again.
 */
export interface GcTarget {
  client: S3Client;
  bucket: string;
  profile: S3ProfileConfig;
  /** The longest a write without a reservation can run (server.requestTimeout and margins). */
  maxWriteAgeMs: number;
  dryRun: boolean;
  /**
   * Staged direct uploads (objects and multipart uploads under DIRECT_STAGING_PREFIX) older than this
   * are removed. The staging area is the bucket's, shared by its storages: undefined leaves it to
   * another storage's run.
   */
  maxStagedAgeMs?: number;
  now?: number;
}

/** Removes (unless a dry run) and reports; a removal S3 refuses is reported with its code. */
export type GcAct = (event: GcEvent, call: () => Promise<unknown>) => Promise<void>;

export interface GcEvent {
  action: 'abort' | 'delete';
  /** What is (or would be) removed: `key (upload id)` or an object key. */
  what: string;
  why: string;
  /** Set when S3 refused: the code. */
  failed?: string;
}

type KeyState =
  | { kind: 'reservation'; expiresAt: number; etag: string }
  | { kind: 'object' }
  | { kind: 'none' };

export async function collectS3Garbage(target: GcTarget, report: (event: GcEvent) => void): Promise<void> {
  const { client, bucket, profile, dryRun } = target;
  const now = target.now ?? Date.now();
  const states = new Map<string, Promise<KeyState>>();
  const stateOf = (key: string) => {
    let state = states.get(key);
    if (!state) {
      state = headKey(client, bucket, key);
      states.set(key, state);
    }
    return state;
  };
  const act: GcAct = async (event: GcEvent, call: () => Promise<unknown>) => {
    if (!dryRun) {
      try {
        await call();
      } catch (error) {
        if (!isNotFound(error)) event.failed = s3ErrorCode(error) ?? 'Unknown';
      }
    }
    report(event);
  };
  /** When the key's reservation expired, if it has one that did. */
  const expiredAt = (state: KeyState): number | undefined =>
    state.kind === 'reservation' && state.expiresAt <= now ? state.expiresAt : undefined;
  const since = (epochMs: number) => new Date(epochMs).toISOString();

  for await (const upload of multipartUploads(client, bucket, profile.prefix)) {
    // A storage with an empty prefix lists the staging area too: its uploads go by direct.expiry (step 4).
    if (upload.key.startsWith(DIRECT_STAGING_PREFIX)) continue;
    const state = await stateOf(upload.key);
    const expiry = expiredAt(state);
    let why: string | undefined;
    if (expiry !== undefined) why = `its reservation expired ${since(expiry)}`;
    else if (state.kind !== 'reservation' && upload.initiated + target.maxWriteAgeMs <= now)
      why = `started ${since(upload.initiated)}, and no writer holds the key`;
    if (why === undefined) continue;
    await act({ action: 'abort', what: `${upload.key} (${upload.uploadId})`, why }, () =>
      client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId }),
      ),
    );
  }

  for await (const entry of listed(client, bucket, `${STATE_PREFIX}${profile.prefix}`)) {
    const owner = stateOwner(entry.key);
    if (owner === undefined) continue;
    const state = await stateOf(owner);
    const expiry = expiredAt(state);
    if (state.kind === 'reservation' && expiry === undefined) continue;
    const why =
      expiry === undefined
        ? `the upload of ${owner} finished or was terminated`
        : `the upload of ${owner} expired ${since(expiry)}`;
    await act({ action: 'delete', what: entry.key, why }, () =>
      client.send(new DeleteObjectCommand({ Bucket: bucket, Key: entry.key })),
    );
  }

  const kms = !etagIsBodyMd5(profile);
  for await (const entry of listed(client, bucket, profile.prefix)) {
    if (entry.key.startsWith(STATE_PREFIX) || entry.key.startsWith(DIRECT_STAGING_PREFIX)) continue;
    if (!(kms ? mayBeReservation(entry.size) : isListedReservation(entry.size, entry.etag))) continue;
    const state = await stateOf(entry.key);
    const expiry = expiredAt(state);
    if (state.kind !== 'reservation' || expiry === undefined) continue;
    await act({ action: 'delete', what: entry.key, why: `a reservation that expired ${since(expiry)}` }, () =>
      withIfMatch(
        state.etag,
        (IfMatch) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: entry.key, IfMatch })),
        client,
      ),
    );
  }

  if (target.maxStagedAgeMs !== undefined)
    await collectStaged({ client, bucket, olderThan: now - target.maxStagedAgeMs }, act);
}

async function headKey(client: S3Client, bucket: string, key: string): Promise<KeyState> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    if (!isReservation(head.Metadata)) return { kind: 'object' };
    return { kind: 'reservation', expiresAt: reservationExpiry(head.Metadata), etag: head.ETag ?? '' };
  } catch (error) {
    if (isNotFound(error)) return { kind: 'none' };
    throw error;
  }
}
