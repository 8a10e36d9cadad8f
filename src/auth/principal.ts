import type { JWTPayload } from 'jose';

/** Who is asking: nobody, a service holding an API key, or an end user holding a JWT. */
export type Principal =
  | { kind: 'anonymous'; grants: readonly string[] }
  | { kind: 'api-key'; name: string; grants: readonly string[] }
  | { kind: 'jwt'; subject: string; grants: readonly string[]; claims: JWTPayload };

/** For logs: identifies the principal without any secret. */
export function describePrincipal(principal: Principal): string {
  switch (principal.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'api-key':
      return `api-key:${principal.name}`;
    case 'jwt':
      return `jwt:${principal.subject}`;
  }
}
