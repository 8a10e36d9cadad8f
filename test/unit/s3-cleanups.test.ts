import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { createCleanups } from '../../src/storage/drivers/s3/background-cleanups.ts';

/**
 * The retry and recheck schedule of failed-upload cleanups (background-cleanups.ts), with fake timers: steps run
 * in order, a step that finds S3 unreachable is retried with backoff (it and the ones after it), and a
 * recheck runs its own steps once, `afterMs` after everything first succeeded.
 */
const unreachable = () => new AppError('STORAGE_UNAVAILABLE', 'down');

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createCleanups', () => {
  it('runs the steps in order, once, when S3 answers', async () => {
    const calls: string[] = [];
    const cleanups = createCleanups(60_000);
    await cleanups.run([async () => calls.push('abort'), async () => calls.push('release')]);
    await vi.runAllTimersAsync();
    expect(calls).toEqual(['abort', 'release']);
  });

  it('retries from the step that found S3 unreachable, and goes on past other failures', async () => {
    const calls: string[] = [];
    let down = true;
    const cleanups = createCleanups(60_000);
    await cleanups.run([
      async () => {
        calls.push('abort');
        throw new Error('NoSuchUpload'); // not an outage: the next step runs
      },
      async () => {
        calls.push('release');
        if (down) throw unreachable();
      },
      async () => calls.push('retract'),
    ]);
    expect(calls).toEqual(['abort', 'release']);
    down = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual(['abort', 'release', 'release', 'retract']);
  });

  it('rechecks once, afterMs after the steps first succeeded, not after the failure', async () => {
    const calls: string[] = [];
    let down = true;
    const retract = async () => {
      calls.push('retract');
      if (down) throw unreachable();
    };
    const cleanups = createCleanups(600_000);
    await cleanups.run([retract], { recheck: { afterMs: 30_000, steps: [retract] } });
    await vi.advanceTimersByTimeAsync(1000 + 2000 + 4000); // three failed retries: 1 s, 2 s, 4 s
    expect(calls).toHaveLength(4);
    down = false;
    await vi.advanceTimersByTimeAsync(8000); // the retry that succeeds
    expect(calls).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(calls).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(1000); // the recheck
    expect(calls).toHaveLength(6);
    await vi.runAllTimersAsync();
    expect(calls).toHaveLength(6);
  });

  it('drops retries and rechecks still waiting when closed', async () => {
    const calls: string[] = [];
    const cleanups = createCleanups(600_000);
    const step = async () => {
      calls.push('retract');
    };
    await cleanups.run([step], { recheck: { afterMs: 30_000, steps: [step] } });
    cleanups.close();
    await vi.runAllTimersAsync();
    expect(calls).toEqual(['retract']);
  });

  it('gives up once retrying would outlast retryForMs', async () => {
    let calls = 0;
    const cleanups = createCleanups(5000);
    await cleanups.run([
      async () => {
        calls++;
        throw unreachable();
      },
    ]);
    await vi.runAllTimersAsync();
    expect(calls).toBe(3); // at 0, 1 s, 3 s; the next (7 s) would be past 5 s
  });
});
