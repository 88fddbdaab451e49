/** Summaries of repeated measurements, and the markdown table they are printed in. */

export interface Summary {
  n: number;
  mean: number;
  median: number;
  min: number;
  max: number;
  /** Sample standard deviation. */
  sd: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { n: 0, mean: NaN, median: NaN, min: NaN, max: NaN, sd: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const variance = n > 1 ? sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { n, mean, median, min: sorted[0]!, max: sorted[n - 1]!, sd: Math.sqrt(variance) };
}

/** One row of the table: a case within a section, and its ratio to the section's reference. */
export interface Row {
  section: string;
  name: string;
  unit: string;
  summary: Summary;
  /** The mean of the case this row is compared with (crun's, in most sections). */
  reference?: number | undefined;
  note?: string | undefined;
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function markdownTable(rows: readonly Row[]): string {
  const header = ['section', 'case', 'unit', 'n', 'mean', 'median', 'min', 'max', 'sd', 'ratio', 'note'];
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const r of rows) {
    const s = r.summary;
    const ratio = r.reference === undefined ? '' : `${(s.mean / r.reference).toFixed(2)}×`;
    lines.push(
      `| ${[r.section, r.name, r.unit, String(s.n), fmt(s.mean), fmt(s.median), fmt(s.min), fmt(s.max), fmt(s.sd), ratio, r.note ?? ''].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** Fisher–Yates, so each round runs the cases in a fresh order. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
