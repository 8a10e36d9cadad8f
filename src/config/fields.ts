import { z } from 'zod';
import { parseDurationSeconds, parseSize } from './units.ts';

/** Zod fields shared by the config schemas: human-readable sizes and durations, booleans from env. */

const humanValue = (parse: (value: string | number) => number | undefined, what: string, example: string) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const parsed = parse(value);
    if (parsed === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid ${what} ${JSON.stringify(value)} (use e.g. "${example}")`,
      });
      return z.NEVER;
    }
    return parsed;
  });

/** Bytes, from "50MiB", "1.5 GB" or a number. */
export const sizeField = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .pipe(humanValue(parseSize, 'size', '50MiB'));

/** Seconds, from "15m", "1h", "7d" or a number. */
export const durationField = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .pipe(humanValue(parseDurationSeconds, 'duration', '15m'));

export const optionalDurationField = () => humanValue(parseDurationSeconds, 'duration', '5s').optional();

/**
 * A permission mode, from an octal string ("0640", "750"), at least `owner` (the bits the owner needs).
 * A number is refused: YAML reads an unquoted 0640 as 640 and 0o640 as 416, so only a string says
 * what was meant.
 */
export const modeField = (fallback: string, owner: number) =>
  z
    .string({ error: 'must be an octal mode in quotes, e.g. "0640"' })
    .default(fallback)
    .refine((value) => /^0?[0-7]{3}$/.test(value), 'must be an octal mode in quotes, e.g. "0640"')
    .transform((value) => Number.parseInt(value, 8))
    .refine((mode) => (mode & owner) === owner, {
      message: `must give the owner at least ${owner.toString(8).padStart(4, '0')} (the driver reads and writes it)`,
    });

/** true/false from YAML or from an environment string ("true", "1", "yes"…). */
export const boolField = z.union([z.boolean(), z.stringbool()]);
