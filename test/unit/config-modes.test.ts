import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatConfig } from '../../src/cli/show-config.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';

/** local.fileMode / local.directoryMode: quoted octal strings, owner access kept, 0600/0700 by default. */
const local = (modes: Record<string, unknown>) => ({
  local: modes,
  storages: { files: { driver: 'local' } },
});

const problemsOf = (document: unknown): readonly string[] => {
  try {
    parseConfig(document, {});
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe('local file and directory modes', () => {
  it('are owner-only by default and read as octal', () => {
    expect(parseConfig(local({}), {}).local).toMatchObject({ fileMode: 0o600, directoryMode: 0o700 });
    expect(parseConfig(local({ fileMode: '640', directoryMode: '0750' }), {}).local).toMatchObject({
      fileMode: 0o640,
      directoryMode: 0o750,
    });
  });

  it('refuse numbers (YAML would misread 0640), non-octal text and modes that lock the owner out', () => {
    expect(problemsOf(local({ fileMode: 640 }))).toEqual([
      expect.stringMatching(/^local\.fileMode: .*in quotes/),
    ]);
    expect(problemsOf(local({ fileMode: '0680' }))).toEqual([expect.stringMatching(/^local\.fileMode: /)]);
    expect(problemsOf(local({ fileMode: '0400' }))).toEqual([
      expect.stringMatching(/^local\.fileMode: must give the owner at least 0600/),
    ]);
    expect(problemsOf(local({ directoryMode: '0600' }))).toEqual([
      expect.stringMatching(/^local\.directoryMode: must give the owner at least 0700/),
    ]);
  });

  it('`stowage config` shows them in octal, as they are written, so its output parses back', () => {
    const config = parseConfig(local({ directoryMode: '0750' }), {});
    const shown = parse(formatConfig(config, 'yaml')) as { local: Record<string, unknown> };
    expect(shown.local).toMatchObject({ fileMode: '0600', directoryMode: '0750' });
    expect(parseConfig(shown, {}).local).toEqual(config.local);
  });
});
