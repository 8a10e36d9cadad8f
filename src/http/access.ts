import type { FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticate.ts';
import { authorize, type Scope } from '../auth/authorize.ts';
import { describePrincipal, type Principal } from '../auth/principal.ts';
import type { Action } from '../config/auth-schema.ts';
import type { Storage } from '../storage/storage.ts';
import { logOnCompletion } from './access-log.ts';
import type { RouteContext } from './context.ts';

/**
 * The one door into a storage for route handlers: authenticates the request (once), decides whether
 * its principal may perform `action` on the named storage, and returns the storage with the scope
 * the principal is confined to. Every storage route calls this first.
 */
export async function access(
  request: FastifyRequest,
  context: RouteContext,
  storageName: string,
  action: Action,
): Promise<{ storage: Storage; scope: Scope; principal: Principal }> {
  const principal = await principalOf(request, context.authenticate);
  const storage = context.storages.get(storageName);
  const scope = authorize(principal, storageName, action, storage);
  // authorize() throws when the storage is missing, so it is defined here.
  return { storage: storage as Storage, scope, principal };
}

const principals = new WeakMap<FastifyRequest, Promise<Principal>>();

export function principalOf(request: FastifyRequest, authenticate: Authenticator): Promise<Principal> {
  let principal = principals.get(request);
  if (!principal) {
    principal = authenticate(request.headers).then((resolved) => {
      // The request's log line says who made it (never with a secret). Not a child logger: that costs
      // a serialisation per request, and the other lines of the request carry its reqId.
      logOnCompletion(request, { principal: describePrincipal(resolved) });
      return resolved;
    });
    principals.set(request, principal);
  }
  return principal;
}
