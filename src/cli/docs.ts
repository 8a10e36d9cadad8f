import { configSchema } from '../config/schema.ts';
import { type ErrorCode, errorCatalogue, errorMeanings } from '../errors.ts';
import { configReference, formatReference } from './config-reference.ts';

/**
 * The README's generated parts: the error table (from the error catalogue and its meanings) and the
 * configuration reference (from the zod config schema). Each sits between two marker comments;
 * `npm run docs` rewrites what is between them and a test fails when the README differs.
 */

export const GENERATED = {
  errors: () => errorTable(),
  config: () => formatReference(configReference(configSchema)),
} as const;
export type Section = keyof typeof GENERATED;

const begin = (section: Section) => `<!-- generated:${section} — edit the source and run npm run docs -->`;
const end = (section: Section) => `<!-- /generated:${section} -->`;

/** Every code with its status and meaning, by status (catalogue order within a status). */
export function errorTable(): string {
  const codes = (Object.keys(errorCatalogue) as ErrorCode[])
    .map((code, index) => ({ code, index, status: errorCatalogue[code] }))
    .sort((a, b) => a.status - b.status || a.index - b.index);
  return [
    '| Status | Code | Meaning |',
    '| --- | --- | --- |',
    ...codes.map(
      ({ code, status }) => `| ${status} | \`${code}\` | ${errorMeanings[code].replaceAll('|', '\\|')} |`,
    ),
  ].join('\n');
}

/** The README with every generated section replaced by what its source says now. */
export function updateReadme(readme: string): string {
  let text = readme;
  for (const section of Object.keys(GENERATED) as Section[]) {
    const start = text.indexOf(begin(section));
    const stop = text.indexOf(end(section));
    if (start < 0 || stop < start)
      throw new Error(`README has no "${begin(section)}" … "${end(section)}" block`);
    text = `${text.slice(0, start)}${begin(section)}\n${GENERATED[section]()}\n${text.slice(stop)}`;
  }
  return text;
}
