import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3ProfileConfig } from '../../../config/schema.ts';
import { AppError } from '../../../errors.ts';
import { reservationParams } from './create-only.ts';
import { httpStatusOf, isPreconditionFailed, s3ErrorCode, toAppError } from './errors.ts';

/**
 * Does this S3 server carry out the conditional writes create-only storages rest on? Some do not:
 * Swift's s3api refuses them (501), and some providers and proxies drop the headers, so a create-only
 * PUT onto an existing key silently overwrites it. Nothing in a normal answer tells, so a probe key is
 * written three times: with `If-None-Match: *` (created), again (must be 412), and with a wrong
 * `If-Match` (must be 412; reservations are taken over with it). The probe object is
 * reservation-shaped (create-only.ts), so even one left behind is hidden from reads and lists, and
 * it is deleted at the end.
 *
 * Resolves with the verdict; rejects with the SDK's error when the probe could not decide (S3
 * unreachable, credentials refused, no permission…), which callers report as they report any failure.
 */

export interface ProbeTarget {
  client: S3Client;
  bucket: string;
  profile: S3ProfileConfig;
}

export type ConditionsVerdict = { supported: true } | { supported: false; problem: string };

const OPT_OUT =
  'use an S3 server that enforces conditional writes, or set overwrite: true on this storage to opt out of create-only writes explicitly';

/** An answer that refuses the condition itself: not implemented (Swift: 501), or a bad request. */
const refusal = (error: unknown): boolean => {
  const status = httpStatusOf(error);
  return s3ErrorCode(error) === 'NotImplemented' || status === 501 || status === 505 || status === 400;
};

const answerOf = (error: unknown): string =>
  [httpStatusOf(error), s3ErrorCode(error)].filter((part) => part !== undefined).join(' ');

export async function probeConditionalWrites(
  target: ProbeTarget,
  options: () => { abortSignal?: AbortSignal } = () => ({}),
): Promise<ConditionsVerdict> {
  const { client, bucket, profile } = target;
  const key = `${profile.prefix}stowage-probe-${randomBytes(8).toString('hex')}`;
  // Expired at once: nothing ever waits on it, and any writer may take the key over.
  const put = (condition: { IfNoneMatch: '*' } | { IfMatch: string }) =>
    client.send(
      new PutObjectCommand({ ...reservationParams(bucket, profile, key, { expiresAt: 0 }), ...condition }),
      options(),
    );
  let written = false;
  try {
    try {
      await put({ IfNoneMatch: '*' });
      written = true;
    } catch (error) {
      if (!refusal(error)) throw error;
      return {
        supported: false,
        problem: `the S3 server refuses conditional writes (PutObject with If-None-Match: * answered ${answerOf(error)}), so every create-only write would fail: ${OPT_OUT}`,
      };
    }
    const second = await expectPreconditionFailed(() => put({ IfNoneMatch: '*' }));
    if (second !== undefined) {
      return {
        supported: false,
        problem: `the S3 server does not enforce If-None-Match (a PutObject with If-None-Match: * onto an existing key answered ${second} instead of 412), so create-only writes would overwrite existing objects: ${OPT_OUT}`,
      };
    }
    const wrongTag = `"${'0'.repeat(32)}"`;
    const mismatch = await expectPreconditionFailed(() => put({ IfMatch: wrongTag }));
    if (mismatch !== undefined) {
      return {
        supported: false,
        problem: `the S3 server does not enforce If-Match (a PutObject with a wrong If-Match answered ${mismatch} instead of 412), so an abandoned reservation could be taken over by two writers at once: ${OPT_OUT}`,
      };
    }
    return { supported: true };
  } finally {
    if (written)
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), options()).catch(() => {});
  }
}

/**
 * Undefined when the write failed its precondition, as it must; otherwise the server's answer (a
 * success, or a refusal of the condition). Other failures reject.
 */
async function expectPreconditionFailed(write: () => Promise<unknown>): Promise<string | undefined> {
  try {
    const output = (await write()) as { $metadata?: { httpStatusCode?: number } };
    return String(output.$metadata?.httpStatusCode ?? 200);
  } catch (error) {
    if (isPreconditionFailed(error)) return undefined;
    if (refusal(error)) return answerOf(error);
    throw error;
  }
}

/** How long a negative verdict stands before a check probes again: a fixed server is noticed without a restart. */
export const RECHECK_AFTER_MS = 60_000;

export interface ConditionsGate {
  /**
   * Resolves when create-only writes are known to be safe; rejects with STORAGE_NOT_SUPPORTED naming
   * the problem, or with the probe's own failure (which is not remembered: the next check probes again).
   * A positive verdict holds for the process's life, so readiness checks cost no writes after it.
   */
  check(): Promise<void>;
  /** Set once the server was found not to enforce the conditions (until a later probe says otherwise). */
  readonly problem: string | undefined;
}

export function createConditionsGate(target: ProbeTarget): ConditionsGate {
  let supported = false;
  let failed: { problem: string; at: number } | undefined;
  let running: Promise<void> | undefined;
  const notSupported = (problem: string) => new AppError('STORAGE_NOT_SUPPORTED', problem);
  const probe = async () => {
    let verdict: ConditionsVerdict;
    try {
      verdict = await probeConditionalWrites(target);
    } catch (error) {
      throw toAppError(error, { operation: 'PutObject' });
    }
    if (verdict.supported) {
      supported = true;
      failed = undefined;
      return;
    }
    failed = { problem: verdict.problem, at: Date.now() };
    throw notSupported(verdict.problem);
  };
  return {
    async check() {
      if (supported) return;
      if (failed && Date.now() - failed.at < RECHECK_AFTER_MS) throw notSupported(failed.problem);
      // Concurrent checks (readiness probes from several load balancers) share one probe.
      running ??= probe().finally(() => {
        running = undefined;
      });
      await running;
    },
    get problem() {
      return failed?.problem;
    },
  };
}
