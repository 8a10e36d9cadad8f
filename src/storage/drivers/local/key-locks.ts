/**
 * One step at a time per key, within this process: a conditional replace (look at the stored
 * ETag, then rename over it) must not interleave with another write or a delete of the same key.
 * Only the publishing step runs under it, never the body's upload. Processes sharing a directory
 * do not see each other's locks (see write.ts for what holds then).
 */
export interface KeyLocks {
  run<T>(key: string, step: () => Promise<T>): Promise<T>;
}

export function createKeyLocks(): KeyLocks {
  const tails = new Map<string, Promise<unknown>>();
  return {
    async run(key, step) {
      const previous = tails.get(key) ?? Promise.resolve();
      const current = previous.then(step, step);
      const tail = current.catch(() => undefined);
      tails.set(key, tail);
      try {
        return await current;
      } finally {
        // The last one out leaves no entry behind.
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
  };
}
