import { readFile } from 'node:fs/promises';

/**
 * The README's shell commands, read at test time so the tests run what the README says today:
 * every fenced `sh` block, one entry per command (comment lines dropped, `\` continuations kept, so
 * `sh -c` sees the text exactly as written).
 *
 * Placeholders, the README's one convention (stated under its S3 command): `…` marks what the reader
 * fills in, `<the url>` the URL a previous command printed, `<bucket>` one of the reader's buckets. `fillPlaceholders` puts the test's
 * values there and refuses to run a command that still has one.
 */

export interface ShellCommand {
  /** The `##` section the block is in. */
  section: string;
  /** Index of the block in the README (0-based), so a test can run one block after another. */
  block: number;
  text: string;
}

export const README = new URL('../../README.md', import.meta.url);

export async function readmeShellCommands(): Promise<ShellCommand[]> {
  const lines = (await readFile(README, 'utf8')).split('\n');
  const commands: ShellCommand[] = [];
  let section = '';
  let block = -1;
  let inBlock = false;
  let pending: string[] = [];
  for (const line of lines) {
    if (!inBlock && line.startsWith('## ')) section = line.slice(3).trim();
    if (!inBlock && /^```(sh|bash|shell)\s*$/.test(line)) {
      inBlock = true;
      block += 1;
      continue;
    }
    if (!inBlock) continue;
    if (line.startsWith('```')) {
      inBlock = false;
      continue;
    }
    if (pending.length === 0 && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    pending.push(line);
    if (!line.endsWith('\\')) {
      commands.push({ section, block, text: pending.join('\n') });
      pending = [];
    }
  }
  return commands;
}

/** The README without its fenced blocks, whose backticks would pair with the prose's. */
const prose = async () => (await readFile(README, 'utf8')).replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');

/**
 * Commands quoted inline in the README's prose (`npm run cli -- check`), in order, fenced blocks
 * left out: code spans on one line that start with a command this project's README uses.
 */
export async function readmeInlineCommands(): Promise<string[]> {
  return [...(await prose()).matchAll(/`([^`\n]+)`/g)]
    .map((match) => match[1] ?? '')
    .filter((span) => /^(npm|npx|aws|docker|curl) [a-z]/.test(span));
}

/** An inline code span of the README that starts with `text` (e.g. the lifecycle rule's JSON). */
export async function readmeSpan(start: string): Promise<string> {
  const span = [...(await prose()).matchAll(/`([^`]+)`/g)]
    .map((match) => match[1] ?? '')
    .find((s) => s.startsWith(start));
  if (span === undefined) throw new Error(`the README quotes nothing starting with ${start}`);
  return span;
}

export interface PlaceholderValues {
  /** Values for `NAME=…` (and `NAME=prefix…`: the value must start with the prefix). */
  env?: Record<string, string>;
  /** The object key that stands for a `3f0c…9a.pdf`-like example, by its extension. */
  keys?: Record<string, string>;
  /** What `<the url>` stands for. */
  url?: string;
  /** What `<bucket>` stands for. */
  bucket?: string;
  /** Where `http://127.0.0.1:8080` points (the port the test started Stowage on). */
  baseUrl?: string;
}

const shellQuote = (value: string): string => (/^[\w@%+=:,./-]*$/.test(value) ? value : `'${value}'`);

export function fillPlaceholders(command: string, values: PlaceholderValues): string {
  const missing = (what: string): never => {
    throw new Error(`no value for ${what} in: ${command}`);
  };
  let text = command.replace(/\b([A-Z][A-Z0-9_]*)=([^\s…]*)…/g, (_, name: string, prefix: string) => {
    const value = values.env?.[name] ?? missing(name);
    if (!value.startsWith(prefix)) throw new Error(`${name} must start with "${prefix}" in: ${command}`);
    return `${name}=${shellQuote(value)}`;
  });
  text = text.replace(
    /\b[0-9a-f]+…[0-9a-f]+\.([a-z0-9]+)\b/g,
    (example, extension: string) => values.keys?.[extension] ?? missing(`a key like ${example}`),
  );
  text = text.replaceAll('<the url>', () => values.url ?? missing('<the url>'));
  text = text.replaceAll('<bucket>', () => values.bucket ?? missing('<bucket>'));
  text = text.replaceAll('http://127.0.0.1:8080', () => values.baseUrl ?? missing('the base URL'));
  if (text.includes('…') || /<(the [^>]*|bucket)>/.test(text))
    throw new Error(`unfilled placeholder in: ${command}`);
  return text;
}
