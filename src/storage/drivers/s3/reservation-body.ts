import { createHash, randomInt } from 'node:crypto';

/**
 * What a reservation (create-only.ts) holds, chosen so a listing alone can tell one apart: ListObjectsV2
 * carries no metadata, and a HEAD per listed entry would make one list call cost up to 1,000 S3
 * requests. A reservation's body is a fixed text padded to its size, so its ETag (the MD5 of the body,
 * for objects written in one PutObject without KMS) is known in advance for every size.
 *
 * Sizes span a range instead of being one value because If-Match tells reservations apart by ETag:
 * a takeover writes a size different from the one it replaces, so two writers taking over the same
 * expired reservation cannot both succeed. Which writer a reservation belongs to is its write id, in
 * its metadata.
 */

export const RESERVATION_SIZES = { min: 32, count: 256 } as const;

const MARKER = 'stowage-reservation ';

export function reservationBody(size: number): Buffer {
  return Buffer.from(MARKER.padEnd(size, '.'), 'latin1');
}

/** A random reservation size, never `avoid` (the size of the reservation being taken over). */
export function reservationSize(avoid?: number): number {
  for (;;) {
    const size = RESERVATION_SIZES.min + randomInt(RESERVATION_SIZES.count);
    if (size !== avoid) return size;
  }
}

let etags: readonly string[] | undefined;

/** Bare (unquoted) ETags by size offset, computed once: 256 MD5s of a few hundred bytes. */
function reservationEtags(): readonly string[] {
  etags ??= Array.from({ length: RESERVATION_SIZES.count }, (_, offset) =>
    createHash('md5')
      .update(reservationBody(RESERVATION_SIZES.min + offset))
      .digest('hex'),
  );
  return etags;
}

/** Only entries of these sizes can be reservations. */
export const mayBeReservation = (size: number | undefined): boolean =>
  size !== undefined &&
  size >= RESERVATION_SIZES.min &&
  size < RESERVATION_SIZES.min + RESERVATION_SIZES.count;

/**
 * True when a listed entry is a reservation, from its size and ETag alone. An object someone stored
 * with exactly a reservation's bytes is taken for one too, and left out of listings (reads still
 * serve it: they go by metadata).
 */
export function isListedReservation(size: number | undefined, etag: string | undefined): boolean {
  if (!mayBeReservation(size) || etag === undefined) return false;
  const bare = etag.replace(/^"|"$/g, '').toLowerCase();
  return reservationEtags()[(size as number) - RESERVATION_SIZES.min] === bare;
}
