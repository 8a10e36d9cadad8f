import { describe, expect, it } from 'vitest';
import { strongMatch } from '../../src/http/put-conditions.ts';
import { createKeyLocks } from '../../src/storage/drivers/local/key-locks.ts';

describe('If-Match (strong comparison, RFC 9110 §8.8.3.2)', () => {
  const etag = '"abc"';
  it('matches *, the tag itself, unquoted, or within a list', () => {
    expect(strongMatch('*', etag)).toBe(true);
    expect(strongMatch('"abc"', etag)).toBe(true);
    expect(strongMatch('abc', etag)).toBe(true);
    expect(strongMatch('"x", "abc"', etag)).toBe(true);
  });
  it('never matches weak tags, other tags or an empty list', () => {
    expect(strongMatch('W/"abc"', etag)).toBe(false);
    expect(strongMatch('"abd"', etag)).toBe(false);
    expect(strongMatch(',', etag)).toBe(false);
    expect(strongMatch('"abc"', 'W/"abc"')).toBe(false);
  });
});

describe('local key locks', () => {
  it('runs the steps of one key one at a time, in order, a failure not blocking the next', async () => {
    const locks = createKeyLocks();
    const log: string[] = [];
    const step =
      (name: string, fail = false) =>
      async () => {
        log.push(`${name}:start`);
        await new Promise((resolve) => setImmediate(resolve));
        log.push(`${name}:end`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      locks.run('k', step('a', true)),
      locks.run('k', step('b')),
      locks.run('other', step('c')),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('b:start')).toBeGreaterThan(log.indexOf('a:end'));
    expect(log.indexOf('c:start')).toBeLessThan(log.indexOf('a:end'));
  });
});
