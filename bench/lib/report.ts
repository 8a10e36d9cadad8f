/** Markdown tables for the report, and the numbers' formatting. */

export interface Table {
  title: string;
  header: string[];
  rows: Array<Array<string | number>>;
  notes?: string[];
}

export const fixed = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toFixed(digits) : 'n/a';

export const ratio = (value: number, reference: number): string =>
  reference > 0 && Number.isFinite(value) ? `${(value / reference).toFixed(2)}×` : 'n/a';

export function renderTable(table: Table): string {
  const lines = [`### ${table.title}`, '', `| ${table.header.join(' | ')} |`];
  lines.push(`| ${table.header.map((_, index) => (index === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  for (const note of table.notes ?? []) lines.push('', note);
  return `${lines.join('\n')}\n`;
}
