/** A dependency-free SVG line chart for the results (one polyline with markers per series). */

export interface Series {
  name: string;
  points: [number, number][];
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logY?: boolean;
  logX?: boolean;
  /** A dashed horizontal reference line (e.g. the 100 ms p99 limit). */
  refY?: { value: number; label: string };
  /** Draw y = x (attempted = delivered). */
  diagonal?: boolean;
}

const COLORS = ['#1b6ac9', '#d1495b', '#edae49', '#00798c', '#66a182', '#8d6a9f'];
const W = 760;
const H = 420;
const M = { left: 80, right: 20, top: 40, bottom: 90 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Human tick label: 1.5k, 2M, 0.5 … */
export function formatTick(v: number): string {
  const abs = Math.abs(v);
  const trim = (x: number): string => String(Number(x.toPrecision(3)));
  if (abs >= 1e6) return `${trim(v / 1e6)}M`;
  if (abs >= 1e3) return `${trim(v / 1e3)}k`;
  return trim(v);
}

/** About `count` round tick values covering [0, max]. */
export function linearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function lineChart(spec: ChartSpec): string {
  const pts = spec.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xMax = Math.max(1, ...pts.map(([x]) => x)) * 1.05;
  const xs = pts.map(([x]) => x).filter((x) => x > 0);
  const xLo = 10 ** Math.floor(Math.log10(Math.min(xMax, ...xs)));
  const xHi = 10 ** Math.ceil(Math.log10(xMax));
  const ys = pts.map(([, y]) => y).concat(spec.refY ? [spec.refY.value] : []);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number): number =>
    spec.logX
      ? M.left + ((Math.log10(Math.max(x, xLo)) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo))) * pw
      : M.left + (x / xMax) * pw;
  const xTicks: number[] = [];
  if (spec.logX) for (let v = xLo; v <= xHi * 1.0001; v *= 10) xTicks.push(v, 2 * v, 5 * v);
  else xTicks.push(...linearTicks(xMax));
  let sy: (y: number) => number;
  let yTicks: number[];
  if (spec.logY) {
    const positive = ys.filter((y) => y > 0);
    const lo = 10 ** Math.floor(Math.log10(Math.min(1, ...positive)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(10, ...positive)));
    sy = (y) => M.top + ph - ((Math.log10(Math.max(y, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph;
    yTicks = [];
    for (let v = lo; v <= hi * 1.0001; v *= 10) yTicks.push(v);
  } else {
    const yMax = Math.max(1, ...ys) * 1.05;
    if (spec.logX) {
      // Same log scale on both axes, so y = x is a straight diagonal.
      sy = (y) =>
        M.top + ph - ((Math.log10(Math.max(y, xLo)) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo))) * ph;
      yTicks = xTicks.filter((v) => v <= xHi * 1.0001);
    } else {
      sy = (y) => M.top + ph - (y / Math.max(yMax, spec.diagonal ? xMax : 0)) * ph;
      yTicks = linearTicks(Math.max(yMax, spec.diagonal ? xMax : 0));
    }
  }
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(spec.title)}</text>`);
  for (const t of yTicks) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatTick(t)}</text>`);
  }
  for (const t of xTicks.filter((v) => !spec.logX || v <= xHi * 1.0001)) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${M.top + ph + 16}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${M.top + ph + 36}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(
    `<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`,
  );
  if (spec.diagonal) {
    const from = spec.logX ? xLo : 0;
    const to = spec.logX ? xHi : xMax;
    out.push(
      `<line x1="${sx(from).toFixed(1)}" y1="${sy(from).toFixed(1)}" x2="${sx(to).toFixed(1)}" y2="${sy(to).toFixed(1)}" stroke="#bbb" stroke-dasharray="4 4"/>`,
    );
  }
  if (spec.refY) {
    const y = sy(spec.refY.value).toFixed(1);
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#999" stroke-dasharray="6 4"/>`);
    out.push(
      `<text x="${W - M.right - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#666">${esc(spec.refY.label)}</text>`,
    );
  }
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const valid = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (valid.length > 0) {
      // The line joins the last point at each x (a repeated step's deciding attempt); every point gets a marker.
      const last = new Map<number, number>();
      for (const [x, y] of valid) last.set(x, y);
      const d = [...last.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
        .join(' ');
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${d}"/>`);
      for (const [x, y] of valid)
        out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${color}"/>`);
    }
    const lx = M.left + (i % 3) * 230;
    const ly = H - 30 + Math.floor(i / 3) * 16;
    out.push(`<rect x="${lx}" y="${ly - 8}" width="12" height="4" fill="${color}"/>`);
    out.push(`<text x="${lx + 16}" y="${ly - 4}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
