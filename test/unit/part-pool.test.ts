import { describe, expect, it, vi } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { PartPool } from '../../src/storage/part-pool.ts';

/** The upload memory budget as a pool of part buffers (part-pool.ts): bounded, reused, fair. */
const MiB = 2 ** 20;
const part = 5 * MiB;

describe('PartPool', () => {
  it('reuses returned part buffers instead of allocating new ones', async () => {
    const pool = new PartPool(2 * part);
    const first = await pool.acquire(part, { waitMs: 10 });
    const buffer = first.buffer;
    first.release();
    const second = await pool.acquire(part, { waitMs: 10 });
    expect(second.buffer).toBe(buffer);
    expect(pool.use).toEqual({ allocated: part, lent: part, peak: part, waiting: 0 });
    second.release();
    second.release(); // idempotent
    expect(pool.use.lent).toBe(0);
  });

  it('never lends more than its capacity; waiters are served first come, first served', async () => {
    const pool = new PartPool(2 * part);
    const a = await pool.acquire(part, { waitMs: 1000 });
    const b = await pool.acquire(part, { waitMs: 1000 });
    const order: string[] = [];
    const c = pool.acquire(part, { waitMs: 1000 }).then((lease) => {
      order.push('c');
      return lease;
    });
    const d = pool.acquire(part, { waitMs: 1000 }).then((lease) => {
      order.push('d');
      return lease;
    });
    expect(pool.use.waiting).toBe(2);
    // A running upload's extra buffer never jumps the queue.
    b.release();
    expect(pool.tryAcquire(part)).toBeUndefined();
    a.release();
    const [leaseC, leaseD] = await Promise.all([c, d]);
    expect(order).toEqual(['c', 'd']);
    expect(pool.use).toEqual({ allocated: 2 * part, lent: 2 * part, peak: 2 * part, waiting: 0 });
    leaseC.release();
    leaseD.release();
    expect(pool.tryAcquire(part)).toBeDefined();
  });

  it('refuses with 503 and Retry-After once the wait is over, and lets the next waiter on', async () => {
    const pool = new PartPool(part);
    const held = await pool.acquire(part, { waitMs: 10 });
    const refused = await pool.acquire(part, { waitMs: 20 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('SERVICE_UNAVAILABLE');
    expect((refused as AppError).headers?.['retry-after']).toBe('1');
    expect(pool.use.waiting).toBe(0);
    held.release();
    expect(pool.tryAcquire(part)).toBeDefined();
  });

  it('stops waiting when the signal aborts, with its reason', async () => {
    const pool = new PartPool(part);
    await pool.acquire(part, { waitMs: 10 });
    const controller = new AbortController();
    const waiting = pool.acquire(part, { waitMs: 10_000, signal: controller.signal });
    controller.abort(new Error('client left'));
    await expect(waiting).rejects.toThrow('client left');
    expect(pool.use.waiting).toBe(0);
  });

  it('drops kept buffers of another size to make room, and never keeps small ones', async () => {
    const pool = new PartPool(2 * part);
    const small = await pool.acquire(64 * 1024, { waitMs: 10 });
    small.release();
    expect(pool.use.allocated).toBe(0);
    const five = await pool.acquire(part, { waitMs: 10 });
    five.release();
    const ten = await pool.acquire(2 * part, { waitMs: 10 });
    expect(pool.use).toMatchObject({ allocated: 2 * part, lent: 2 * part });
    ten.release();
  });

  it('refuses at once what could never fit, and lends empty buffers for free', async () => {
    const pool = new PartPool(part);
    await expect(pool.acquire(2 * part, { waitMs: 10_000 })).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    expect((await pool.acquire(0, { waitMs: 10 })).buffer.length).toBe(0);
    expect(pool.use.lent).toBe(0);
  });

  it('gives kept buffers back once nothing was lent for idleMs', async () => {
    vi.useFakeTimers();
    try {
      const pool = new PartPool(2 * part, { idleMs: 1000 });
      const lease = await pool.acquire(part, { waitMs: 10 });
      lease.release();
      await vi.advanceTimersByTimeAsync(500);
      (await pool.acquire(part, { waitMs: 10 })).release(); // in use again: not idle for a whole second
      await vi.advanceTimersByTimeAsync(900);
      expect(pool.use.allocated).toBe(part);
      await vi.advanceTimersByTimeAsync(1200);
      expect(pool.use).toMatchObject({ allocated: 0, lent: 0 });
    } finally {
      vi.useRealTimers();
    }
  });
});
