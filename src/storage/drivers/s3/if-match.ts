import { isPreconditionFailed } from './errors.ts';

/**
 * Sends an If-Match write, first with the quoted ETag (HTTP, AWS), then bare: Ceph RGW 16 compares
 * If-Match against the unquoted ETag and fails a correct quoted one with 412. Atomic either way.
 */
export async function withIfMatch<T>(etag: string, send: (ifMatch: string) => Promise<T>): Promise<T> {
  const bare = etag.replace(/^"|"$/g, '');
  try {
    return await send(`"${bare}"`);
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
    return await send(bare);
  }
}
