/** A small SVG line chart of the training loss per step (for the run folder). */
export function lossCurveSvg(points: readonly { step: number; loss: number }[], width = 640, height = 320): string {
  const pad = 40;
  const xs = points.map((p) => p.step);
  const ys = points.map((p) => p.loss).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs, 0), Math.max(...xs, 1)];
  const [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (y: number) => height - pad - ((y - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  const path = points.filter((p) => Number.isFinite(p.loss)).map((p) => `${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`).join(' ');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="black"/>`,
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="black"/>`,
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle" font-size="12">step (${x0}–${x1})</text>`,
    `<text x="12" y="${pad - 12}" font-size="12">loss ${y0.toFixed(4)}–${y1.toFixed(4)}</text>`,
    `<polyline fill="none" stroke="steelblue" stroke-width="1.5" points="${path}"/>`,
    `</svg>`,
    '',
  ].join('\n');
}
