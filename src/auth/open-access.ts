/**
 * Which anonymous grants open a storage beyond what anyone may do anyway (read a public storage).
 * `*:read` with a private storage, or any write, delete, list or sign, is open access: on a
 * non-loopback address it needs `auth.allowAnonymousWrites`, at startup it is logged as OPEN, and the
 * browser guard (src/http/browser-guard.ts) protects it. Pure; takes plain data so the config schema
 * can use it too.
 */
export function openAnonymousGrants(
  anonymousGrants: readonly string[],
  storages: Readonly<Record<string, { access: string }>>,
): string[] {
  const isPublic = (name: string) => storages[name]?.access === 'public';
  return anonymousGrants.filter((grant) => {
    const separator = grant.lastIndexOf(':');
    const storage = grant.slice(0, separator);
    if (grant.slice(separator + 1) !== 'read') return true;
    return storage === '*' ? !Object.keys(storages).every(isPublic) : !isPublic(storage);
  });
}
