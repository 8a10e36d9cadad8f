import type { z } from 'zod';

/**
 * The configuration reference, read off the zod config schema itself: one row per field with its
 * default and its `.describe()` sentence, so the README cannot list a field the schema lacks or miss
 * one it has. zod's own `toJSONSchema` was tried first; it drops defaults on union fields (booleans,
 * `apiKeys`), so the schema's definitions are walked directly.
 */

export interface ReferenceRow {
  /** `server.port`, `storages.<name>.bucket`, `auth.apiKeys[].hash`. */
  path: string;
  /** The value taken when the field is left out, as YAML would spell it; undefined when there is none. */
  fallback?: string;
  description?: string;
  /** Allowed values of an enum or literal field. */
  values?: string[];
  /** Set when only some variants of a union have the field (e.g. `s3` for `bucket`). */
  only?: string[];
}

type Schema = z.core.$ZodType;
type Def = Schema['_zod']['def'] & Record<string, unknown>;

const defOf = (schema: Schema): Def => schema._zod.def as Def;
const descriptionOf = (schema: Schema): string | undefined =>
  (schema as { description?: string }).description;

/** Wrappers that leave the field's shape alone: optional, defaults, pipes (their input side), readonly. */
function unwrap(schema: Schema): { inner: Schema; fallback?: unknown; description?: string } {
  let current = schema;
  let fallback: unknown;
  let description = descriptionOf(schema);
  for (;;) {
    const def = defOf(current);
    if ((def.type === 'default' || def.type === 'prefault') && fallback === undefined)
      fallback = def.defaultValue;
    const next =
      def.type === 'pipe'
        ? (def.in as Schema)
        : ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(
              def.type,
            )
          ? (def.innerType as Schema)
          : undefined;
    if (next === undefined) return { inner: current, fallback, ...(description ? { description } : {}) };
    current = next;
    description ??= descriptionOf(current);
  }
}

/** YAML-ish spelling of a default; whole sections (`{}`) have no default worth a cell. */
function formatFallback(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return undefined;
  if (typeof value === 'string') return value === '' ? '""' : value;
  return JSON.stringify(value);
}

/** The field's allowed values, when it is an enum or a literal, or a list of either. */
function valuesOf(schema: Schema): string[] | undefined {
  const def = defOf(schema);
  if (def.type === 'array') return valuesOf(unwrap(def.element as Schema).inner);
  if (def.type === 'enum') return Object.values(def.entries as Record<string, string>).map(String);
  if (def.type === 'literal') return (def.values as unknown[]).map(String);
  return undefined;
}

function objectOptions(schema: Schema): Array<{ label?: string; shape: Record<string, Schema> }> {
  const def = defOf(schema);
  if (def.type === 'object') return [{ shape: def.shape as Record<string, Schema> }];
  if (def.type !== 'union') return [];
  const discriminator = def.discriminator as string | undefined;
  return (def.options as Schema[]).flatMap((option) => {
    const optionDef = defOf(option);
    if (optionDef.type !== 'object') return [];
    const shape = optionDef.shape as Record<string, Schema>;
    const tag = discriminator ? valuesOf(unwrap(shape[discriminator] as Schema).inner)?.[0] : undefined;
    return [{ ...(tag ? { label: tag } : {}), shape }];
  });
}

/**
 * Every field of the schema, depth first in declaration order. An object used at two places (the
 * S3 connection at the top and per storage) is expanded once; the second place is one row.
 */
export function configReference(schema: Schema): ReferenceRow[] {
  const rows = new Map<string, ReferenceRow>();
  const expandedAt = new Map<Schema, string>();

  const visit = (field: Schema, path: string, label: string | undefined) => {
    const { inner, fallback, description } = unwrap(field);
    const existing = rows.get(path);
    if (existing) {
      if (label && existing.only && !existing.only.includes(label)) existing.only.push(label);
      const values = valuesOf(inner);
      if (values) existing.values = [...new Set([...(existing.values ?? []), ...values])];
    } else {
      const formatted = formatFallback(fallback);
      const values = valuesOf(inner);
      rows.set(path, {
        path,
        ...(formatted !== undefined ? { fallback: formatted } : {}),
        ...(description ? { description } : {}),
        ...(values ? { values } : {}),
        ...(label ? { only: [label] } : {}),
      });
    }
    const def = defOf(inner);
    if (def.type === 'array') {
      const element = unwrap(def.element as Schema).inner;
      if (objectOptions(element).length > 0) expand(element, `${path}[]`);
    } else if (def.type === 'record') expand(unwrap(def.valueType as Schema).inner, `${path}.<name>`);
    else expand(inner, path);
  };

  const expand = (container: Schema, path: string) => {
    const options = objectOptions(container);
    if (options.length === 0) return;
    const seenAt = expandedAt.get(container);
    if (seenAt !== undefined && seenAt !== path) return;
    expandedAt.set(container, path);
    const labelled = options.length > 1;
    for (const { label, shape } of options) {
      for (const [key, field] of Object.entries(shape)) {
        visit(field, path === '' ? key : `${path}.${key}`, labelled ? label : undefined);
      }
    }
    // A field every variant has is not variant-specific.
    if (!labelled) return;
    for (const row of rows.values()) {
      if (row.path.startsWith(`${path}.`) && row.only?.length === options.length) delete row.only;
    }
  };

  expand(unwrap(schema).inner, '');
  return [...rows.values()];
}

const escapeCell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The reference as a Markdown table. */
export function formatReference(rows: readonly ReferenceRow[]): string {
  const lines = ['| Field | Default | Meaning |', '| --- | --- | --- |'];
  for (const row of rows) {
    const field = `\`${row.path}\`${row.only ? ` (${row.only.join(', ')})` : ''}`;
    const fallback = row.fallback === undefined ? '' : `\`${row.fallback}\``;
    const values = row.values ? `One of ${row.values.map((value) => `\`${value}\``).join(', ')}.` : '';
    const meaning = [row.description, values].filter(Boolean).join(' ');
    lines.push(`| ${field} | ${escapeCell(fallback)} | ${escapeCell(meaning)} |`);
  }
  return lines.join('\n');
}
