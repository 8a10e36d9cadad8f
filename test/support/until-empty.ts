import { type BackendInspector, contents } from './backend.ts';

/**
 * Polls a backend until it holds no object and no unfinished write, or the time is up; returns what
 * it held last and how long that took. Cleanup after a failed upload runs after the client has its
 * answer (or has gone), so "nothing left" is a state the backend reaches shortly, not at once.
 */
export async function untilEmpty(
  backend: BackendInspector,
  withinMs = 20_000,
): Promise<{ keys: string[]; leftovers: string[]; ms: number }> {
  const started = Date.now();
  for (;;) {
    const { keys, leftovers } = await contents(backend);
    const ms = Date.now() - started;
    if ((keys.length === 0 && leftovers.length === 0) || ms > withinMs) return { keys, leftovers, ms };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
