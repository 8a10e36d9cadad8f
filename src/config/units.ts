import ms from 'ms';

/**
 * Human-readable sizes and durations for the config file.
 *
 * Sizes: the `bytes` package reads "MB" as 2^20, which is wrong by SI and silently off by 5 % for a
 * limit an operator thinks in; the rule here is explicit: KB/MB/GB/TB are powers of 1000 and
 * KiB/MiB/GiB/TiB powers of 1024, units are case-sensitive and required for anything but a plain
 * byte count. Durations are parsed by `ms` ("15m", "1h", "7d").
 */

const sizeUnits: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

const sizePattern = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?$/;

/** Parses "50MiB", "1.5 GB", "1024" (bytes) or a number of bytes; undefined when malformed. */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  const match = sizePattern.exec(input.trim());
  if (!match) return undefined;
  const [, amount, unit = 'B'] = match;
  const multiplier = sizeUnits[unit];
  if (multiplier === undefined || amount === undefined) return undefined;
  const bytes = Math.round(Number(amount) * multiplier);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Parses "15m", "1h", "900s", "7d" or a number of seconds into whole seconds; undefined when malformed. */
export function parseDurationSeconds(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  const trimmed = input.trim();
  // A bare number in a config file means seconds; `ms` would read it as milliseconds.
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // ms() accepts any string at runtime; its template-literal type is stricter than we need here.
  const millis = ms(trimmed as ms.StringValue);
  if (typeof millis !== 'number' || !Number.isFinite(millis) || millis < 0) return undefined;
  return millis / 1000;
}

/** Formats a byte count for messages: 52428800 → "50 MiB". */
export function formatSize(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const size = sizeUnits[unit] ?? 1;
    if (bytes >= size && bytes % (size / 1024) === 0) return `${Number((bytes / size).toFixed(2))} ${unit}`;
  }
  return `${bytes} B`;
}
