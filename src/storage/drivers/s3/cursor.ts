import { AppError } from '../../../errors.ts';

/**
 * List cursors wrap S3's continuation token together with the prefix it belongs to, so a cursor is
 * opaque to clients, cannot be replayed against another prefix, and a forged one is a 400 on every
 * server — AWS rejects tokens it did not issue, but Ceph RGW silently lists from the start.
 */
export function encodeCursor(prefix: string, token: string): string {
  return Buffer.from(JSON.stringify({ p: prefix, t: token }), 'utf8').toString('base64url');
}

export function decodeCursor(prefix: string, cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      p?: unknown;
      t?: unknown;
    };
    if (parsed.p === prefix && typeof parsed.t === 'string' && parsed.t.length > 0) return parsed.t;
  } catch {
    // fall through: not one of ours
  }
  throw new AppError('BAD_REQUEST', 'The list cursor is invalid');
}
