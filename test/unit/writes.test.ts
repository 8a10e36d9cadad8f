import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { type FileWrite, WriteBatch, writeOutcome } from '../../src/storage/writes.ts';

describe('write outcomes', () => {
  it('classifies refusals, client aborts and failures', () => {
    expect(writeOutcome(new AppError('UNSUPPORTED_MEDIA_TYPE', 'no'))).toBe('refused');
    expect(writeOutcome(new AppError('CLIENT_CLOSED_REQUEST', 'gone'))).toBe('aborted');
    expect(writeOutcome(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))).toBe('aborted');
    expect(writeOutcome(new AppError('STORAGE_ERROR', 'no'))).toBe('failed');
    expect(writeOutcome(new Error('bug'))).toBe('failed');
  });

  it('holds a batch until it is kept, or reports its stored files as refused when rolled back', () => {
    const seen: FileWrite[] = [];
    const stored: FileWrite = { outcome: 'stored', seconds: 0.1, bytes: 10 };
    const refused: FileWrite = { outcome: 'refused', seconds: 0.01, bytes: 0 };
    const kept = new WriteBatch((write) => seen.push(write));
    kept.add(stored);
    expect(seen).toEqual([]);
    kept.commit();
    expect(seen).toEqual([stored]);

    seen.length = 0;
    const undone = new WriteBatch((write) => seen.push(write));
    undone.add(stored);
    undone.add(refused);
    undone.rollback();
    expect(seen).toEqual([{ ...stored, outcome: 'refused', bytes: 0 }, refused]);
  });
});
