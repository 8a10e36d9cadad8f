import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  isListedReservation,
  RESERVATION_SIZES,
  reservationBody,
  reservationSize,
} from '../../src/storage/drivers/s3/reservation-body.ts';

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

describe('reservation bodies', () => {
  it('are recognised from size and ETag alone, quoted or not', () => {
    for (const size of [RESERVATION_SIZES.min, 100, RESERVATION_SIZES.min + RESERVATION_SIZES.count - 1]) {
      const body = reservationBody(size);
      expect(body.length).toBe(size);
      expect(isListedReservation(size, `"${md5(body)}"`)).toBe(true);
      expect(isListedReservation(size, md5(body).toUpperCase())).toBe(true);
      expect(isListedReservation(size, `"${md5(Buffer.alloc(size))}"`)).toBe(false);
      expect(isListedReservation(size + 1, `"${md5(body)}"`)).toBe(false);
    }
    expect(isListedReservation(RESERVATION_SIZES.min - 1, '"x"')).toBe(false);
    expect(isListedReservation(undefined, undefined)).toBe(false);
  });

  it('a takeover never picks the size (so the ETag) it replaces', () => {
    for (let round = 0; round < 2000; round++) {
      const size = reservationSize(RESERVATION_SIZES.min);
      expect(size).not.toBe(RESERVATION_SIZES.min);
      expect(size).toBeLessThan(RESERVATION_SIZES.min + RESERVATION_SIZES.count);
    }
  });
});
