// Reads one numeric column (and optionally a time column) out of a small CSV file. The data sets we
// train on are a few thousand rows, so a line-by-line parser that understands quoted fields is enough.

export interface SeriesData {
  values: Float64Array;
  /** The time column's text per row, when a time column was read. */
  times?: string[];
  column: string;
  timeColumn?: string;
}

/** Splits one CSV record; fields may be double-quoted with "" as an escaped quote. */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out.map((f) => f.trim());
}

export function parseSeriesCsv(text: string, opts: { column: string; timeColumn?: string }): SeriesData {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new Error('CSV has no data rows');
  const header = splitCsvLine(lines[0]);
  const col = header.indexOf(opts.column);
  if (col < 0) throw new Error(`column "${opts.column}" not found (columns: ${header.join(', ')})`);
  let tcol = -1;
  if (opts.timeColumn !== undefined) {
    tcol = header.indexOf(opts.timeColumn);
    if (tcol < 0) throw new Error(`time column "${opts.timeColumn}" not found (columns: ${header.join(', ')})`);
  }
  const values = new Float64Array(lines.length - 1);
  const times: string[] = [];
  for (let r = 1; r < lines.length; r++) {
    const f = splitCsvLine(lines[r]);
    const raw = f[col] ?? '';
    const v = raw === '' ? NaN : Number(raw);
    // A gap or a non-number would silently shift every window after it, so it stops the run.
    if (!Number.isFinite(v)) throw new Error(`line ${r + 1}: "${raw}" in column "${opts.column}" is not a finite number`);
    values[r - 1] = v;
    if (tcol >= 0) times.push(f[tcol] ?? '');
  }
  return { values, times: tcol >= 0 ? times : undefined, column: opts.column, timeColumn: opts.timeColumn };
}

/** Index of the first row at or after `from` (a date), or -1. */
export function indexAtOrAfter(times: readonly string[], from: string): number {
  const target = timeToMs(from);
  for (let i = 0; i < times.length; i++) if (timeToMs(times[i]) >= target) return i;
  return -1;
}

/** "YYYY", "YYYY-MM" or "YYYY-MM-DD" (optionally with a time) → UTC milliseconds. */
export function timeToMs(s: string): number {
  const m = /^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?/.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not a date (expected YYYY-MM-DD or YYYY-MM)`);
  return Date.UTC(Number(m[1]), m[2] ? Number(m[2]) - 1 : 0, m[3] ? Number(m[3]) : 1);
}
