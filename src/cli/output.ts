import type { Command } from 'commander';

/** Every command takes --json: machine-readable output instead of text for people. */
export const withJson = (cmd: Command): Command => cmd.option('--json', 'machine-readable output (JSON)', false);

export const isJson = (cmd: Command): boolean => !!cmd.optsWithGlobals<{ json?: boolean }>().json;

export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function println(line = '', out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${line}\n`);
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c == null ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `[#####.....]` of `percent` (0 to 100) in `width` cells. */
export function bar(percent: number, width = 20): string {
  const p = Math.max(0, Math.min(100, percent));
  const full = Math.round((p / 100) * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

export const percentText = (p: number | null | undefined): string => (p == null ? '' : `${Math.round(p)}%`);
