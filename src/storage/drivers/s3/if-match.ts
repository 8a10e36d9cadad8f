import { isPreconditionFailed } from './errors.ts';

/**
 * The If-Match form each S3 server (client) last accepted. HTTP and AWS compare the quoted ETag;
 * Ceph RGW 16 compares the unquoted one and fails a correct quoted one with 412, so trying the
 * quoted form first costs every conditional write there a refused request (and RGW's stall after
 * it, bench/README "Resumable uploads (tus)"). Only the order of the two tries is remembered: never
 * what an object holds, so nothing of an upload's state outlives a request.
 */
const acceptsBare = new WeakMap<object, boolean>();

/**
 * Sends an If-Match write in the form `server` (its S3 client) last accepted, then in the other one.
 * Atomic either way. A wrong memory costs one 412 and corrects itself: it changes only when the
 * first form is refused and the second accepted. Without `server`, quoted first, as before.
 */
export async function withIfMatch<T>(
  etag: string,
  send: (ifMatch: string) => Promise<T>,
  server?: object,
): Promise<T> {
  const bare = etag.replace(/^"|"$/g, '');
  const quoted = `"${bare}"`;
  const bareFirst = server !== undefined && acceptsBare.get(server) === true;
  try {
    return await send(bareFirst ? bare : quoted);
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
  }
  const answer = await send(bareFirst ? quoted : bare);
  if (server !== undefined) acceptsBare.set(server, !bareFirst);
  return answer;
}
