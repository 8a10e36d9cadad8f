import { describe, expect, it } from 'vitest';
import { ReadSlots } from '../../src/storage/drivers/s3/read-slots.ts';
import { contentLength, parseResponseHead } from '../../src/storage/drivers/s3/response-head.ts';

/**
 * The rules the quick GET's memory rests on (read-slots.ts): the socket always reads into a slot
 * nobody holds, and reading stops while that slot is the only free one. And the few answer heads it
 * frames itself (response-head.ts); the rest goes to the SDK.
 */

describe('read slots', () => {
  it('never hand out a held slot: reading stops while the target is the last free one', () => {
    const slots = new ReadSlots(3, 16);
    const targets = [slots.target];
    // Every read is kept downstream (held) until released.
    for (let read = 0; read < 2; read++) {
      slots.hold(slots.target);
      expect(slots.mayRead()).toBe(read === 0);
      slots.advance();
      targets.push(slots.target);
    }
    expect(new Set(targets).size).toBe(3);
    expect(slots.free()).toBe(1);
    // The one free slot is the target; releasing another lets reading go on.
    slots.release(targets[0] as number);
    expect(slots.mayRead()).toBe(true);
  });

  it('reads into the same slot again when nothing of it was kept', () => {
    const slots = new ReadSlots(3, 16);
    const first = slots.advance();
    slots.hold(slots.target);
    slots.release(slots.target);
    expect(slots.advance()).toBe(first);
    expect(() => slots.release(0)).toThrow(/released more often/);
  });
});

describe('answer heads', () => {
  it('takes an HTTP/1.1 head with its Content-Length and keep-alive', () => {
    const head = parseResponseHead(
      'HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nx-amz-meta-a: 1\r\nX-Amz-Meta-A: 2\r\nConnection: Keep-Alive',
    );
    expect(head).toEqual({
      status: 206,
      headers: { 'content-length': '10', 'x-amz-meta-a': '1, 2', connection: 'Keep-Alive' },
      keepAlive: true,
    });
    expect(contentLength(head!)).toBe(10);
    expect(parseResponseHead('HTTP/1.1 200 OK\r\nconnection: close')?.keepAlive).toBe(false);
  });

  it('leaves to the SDK what it cannot frame plainly', () => {
    expect(parseResponseHead('HTTP/1.0 200 OK\r\ncontent-length: 1')).toBeUndefined();
    expect(parseResponseHead('HTTP/1.1 200 OK\r\nx-a: 1\r\n folded')).toBeUndefined();
    const chunked = parseResponseHead('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 5');
    expect(contentLength(chunked!)).toBeUndefined();
    expect(contentLength(parseResponseHead('HTTP/1.1 200 OK')!)).toBeUndefined();
    expect(contentLength(parseResponseHead('HTTP/1.1 200 OK\r\ncontent-length: 5, 5')!)).toBeUndefined();
  });
});
