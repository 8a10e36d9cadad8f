import { describe, expect, it } from 'vitest';
import { fillPlaceholders, readmeShellCommands } from '../support/readme-commands.ts';

/** The README's placeholder convention, as the quick-start test applies it. */
describe('README placeholders', () => {
  it('fills NAME=…, example keys, <the url>, <bucket> and the default address', () => {
    const values = {
      env: { HASH: 'sha256:abc', BUCKET: 'b 1' },
      keys: { pdf: 'f00.pdf' },
      url: 'http://x/y?a=1&b=2',
      bucket: 'media-1',
      baseUrl: 'http://127.0.0.1:4711',
    };
    expect(fillPlaceholders('A=1 HASH=sha256:… BUCKET=… npm start', values)).toBe(
      "A=1 HASH=sha256:abc BUCKET='b 1' npm start",
    );
    expect(fillPlaceholders(`curl -d '{"key":"3f0c…9a.pdf"}' http://127.0.0.1:8080/v1`, values)).toBe(
      `curl -d '{"key":"f00.pdf"}' http://127.0.0.1:4711/v1`,
    );
    expect(fillPlaceholders("curl -o x '<the url>' && aws --bucket <bucket>", values)).toBe(
      "curl -o x 'http://x/y?a=1&b=2' && aws --bucket media-1",
    );
  });

  it('refuses a command with a placeholder it has no value for', () => {
    expect(() => fillPlaceholders('X=… npm start', {})).toThrow(/no value for X/);
    expect(() => fillPlaceholders('HASH=sha256:… npm start', { env: { HASH: 'md5:1' } })).toThrow(
      /start with/,
    );
    expect(() => fillPlaceholders('curl <the link>', {})).toThrow(/unfilled placeholder/);
  });

  it('reads every sh block of the README, continuations joined, comment lines left out', async () => {
    const commands = await readmeShellCommands();
    expect(commands[0]?.text).toMatch(/^npm ci && npm start/);
    expect(commands.some(({ text }) => text.includes('\\\n'))).toBe(true);
    expect(commands.every(({ text }) => !text.trimStart().startsWith('#'))).toBe(true);
  });
});
