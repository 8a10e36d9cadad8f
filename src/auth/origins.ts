/**
 * Which browser origins the config allows: exact origins ("https://app.example.com"), "*", or an
 * origin with any port ("http://localhost:*", for dev servers whose port varies). One matcher for
 * CORS (cors.ts) and for the cross-site write check (browser-guard.ts), so both always agree.
 */

const anyPort = /^(https?:\/\/(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+)):\*$/i;

export function originMatcher(origins: readonly string[]): (origin: string) => boolean {
  if (origins.includes('*')) return () => true;
  const exact = new Set<string>();
  const hosts: string[] = [];
  for (const entry of origins) {
    const host = anyPort.exec(entry)?.[1];
    if (host) hosts.push(host.toLowerCase());
    else exact.add(entry);
  }
  return (origin) => {
    if (exact.has(origin)) return true;
    // "http://localhost:*" is "http://localhost" itself (the default port) or with a port number.
    const withoutPort = /^(.*?)(?::\d{1,5})?$/.exec(origin.toLowerCase())?.[1] ?? '';
    return hosts.includes(withoutPort);
  };
}

/** The form of an origin with any port, for the config schema. */
export const isAnyPortOrigin = (value: string): boolean => anyPort.test(value);
