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

/** true/false from YAML or from an environment string ("true", "1", "yes"…). */
export const boolField = z.union([z.boolean(), z.stringbool()]);
