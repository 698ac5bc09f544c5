// Line charts as static SVG text, for the self-contained training report.
// Every label is escaped, so layer names cannot inject markup.

export interface Series {
  name: string;
  color: string;
  /** Dashed line, for a second quantity of the same run. */
  dashed?: boolean;
  points: readonly (readonly [number, number])[];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Forces the y range to include these values (for example 0). */
  yInclude?: readonly number[];
  /** Formats y tick labels; defaults to up to 4 significant digits. */
  formatY?: (value: number) => string;
  width?: number;
  height?: number;
}

/** Returns the text with &, <, >, " and ' escaped for HTML and SVG. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Returns about `count` evenly spaced round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (min === max) return [min];
  const rough = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

const defaultFormat = (value: number): string => String(Number(value.toPrecision(4)));

/** Renders a line chart with axes, ticks and a legend, as an <svg> element. */
export function lineChart(options: ChartOptions): string {
  const width = options.width ?? 440;
  const height = options.height ?? 250;
  const margin = { top: 28, right: 12, bottom: 40, left: 56 };
  const legendHeight = 16 * Math.ceil(options.series.length / 2);
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom - legendHeight;
  const format = options.formatY ?? defaultFormat;

  const points = options.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = points.map(([x]) => x);
  const ys = [...points.map(([, y]) => y), ...(options.yInclude ?? [])];
  let [xMin, xMax] = xs.length === 0 ? [0, 1] : [Math.min(...xs), Math.max(...xs)];
  let [yMin, yMax] = ys.length === 0 ? [0, 1] : [Math.min(...ys), Math.max(...ys)];
  if (xMin === xMax) [xMin, xMax] = [xMin - 1, xMax + 1];
  // A flat line gets a range around it: 0 to 1 for all zeros (no dead units), +-10% otherwise.
  if (yMin === yMax) [yMin, yMax] = yMin === 0 ? [0, 1] : [yMin - 0.1 * Math.abs(yMin), yMax + 0.1 * Math.abs(yMax)];
  const yTicks = niceTicks(yMin, yMax);
  yMin = Math.min(yMin, yTicks[0]!);
  yMax = Math.max(yMax, yTicks[yTicks.length - 1]!);

  const sx = (x: number): number => margin.left + ((x - xMin) / (xMax - xMin)) * plotWidth;
  const sy = (y: number): number => margin.top + plotHeight - ((y - yMin) / (yMax - yMin)) * plotHeight;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`);

  // Axes with ticks and grid lines.
  for (const t of yTicks) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(format(t))}</text>`);
  }
  const xTicks = niceTicks(xMin, xMax, Math.min(8, Math.max(1, Math.round(xMax - xMin)))).filter((t) => Number.isInteger(t));
  for (const t of xTicks) {
    const x = sx(t).toFixed(1);
    parts.push(`<text x="${x}" y="${margin.top + plotHeight + 14}" text-anchor="middle">${escapeXml(String(t))}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${margin.top + plotHeight + 30}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);

  // Lines and point markers.
  for (const s of options.series) {
    const finite = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (finite.length === 0) continue;
    const path = finite.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const [x, y] of finite) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${escapeXml(s.color)}"/>`);
  }

  // Legend, two entries per row under the plot.
  options.series.forEach((s, i) => {
    const x = margin.left + (i % 2) * (plotWidth / 2);
    const y = height - legendHeight + 16 * Math.floor(i / 2) + 4;
    parts.push(`<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${escapeXml(s.color)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${x + 28}" y="${y}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
