/**
 * The report's SVG chart: per benchmark, this run's score beside the published one (OCRBench / 10, so
 * every bar is on the 0–100 scale of the average). A handful of rectangles and labels; plain SVG text.
 */
export interface ChartBar {
  label: string;
  run: number | null;
  published: number | null;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderChart(title: string, bars: readonly ChartBar[]): string {
  const groupW = 70;
  const barW = 26;
  const h = 220;
  const top = 40;
  const left = 40;
  const width = left + bars.length * groupW + 20;
  const height = top + h + 60;
  const y = (v: number) => top + h - (Math.max(0, Math.min(100, v)) / 100) * h;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
    `<text x="${left}" y="20" font-size="14">${esc(title)}</text>`,
    `<rect x="${width - 190}" y="8" width="10" height="10" fill="#3b6fb6"/><text x="${width - 176}" y="17">this run</text>`,
    `<rect x="${width - 110}" y="8" width="10" height="10" fill="#c9c9c9"/><text x="${width - 96}" y="17">published</text>`,
  ];
  for (const t of [0, 25, 50, 75, 100]) {
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/><text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  bars.forEach((b, i) => {
    const x0 = left + i * groupW + 8;
    for (const [k, v, fill] of [[0, b.run, '#3b6fb6'], [1, b.published, '#c9c9c9']] as const) {
      if (v === null) continue;
      const x = x0 + k * (barW + 2);
      parts.push(`<rect x="${x}" y="${y(v).toFixed(1)}" width="${barW}" height="${(top + h - y(v)).toFixed(1)}" fill="${fill}"><title>${esc(`${b.label}: ${v.toFixed(1)}`)}</title></rect>`);
      parts.push(`<text x="${x + barW / 2}" y="${(y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${v.toFixed(1)}</text>`);
    }
    parts.push(`<text x="${x0 + barW}" y="${top + h + 14}" text-anchor="middle">${esc(b.label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
