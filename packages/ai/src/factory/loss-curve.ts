/** One point of a training run: the mean training loss since the last point and/or evaluation loss. */
export interface LossPoint {
  readonly step: number;
  readonly tokens: number;
  readonly trainLoss?: number;
  readonly evalLoss?: number;
}

const WIDTH = 640;
const HEIGHT = 360;
const PAD = { left: 56, right: 16, top: 28, bottom: 40 };

/**
 * The loss curve as a self-contained SVG (no fonts or scripts to fetch): training loss as a line,
 * evaluation loss as dots, axes with a few ticks. SVG rather than PNG so that the web app, the model
 * card and a terminal-less browser all show it without a rasteriser.
 */
export function renderLossCurve(points: readonly LossPoint[], title = 'Loss'): string {
  const steps = points.map((p) => p.step);
  const losses = points.flatMap((p) => [p.trainLoss, p.evalLoss].filter((v): v is number => v !== undefined));
  const [x0, x1] = extent(steps.length > 0 ? steps : [0, 1]);
  const [y0, y1] = extent(losses.length > 0 ? losses : [0, 1]);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (v: number) => PAD.left + ((v - x0) / (x1 - x0 || 1)) * plotW;
  const y = (v: number) => PAD.top + (1 - (v - y0) / (y1 - y0 || 1)) * plotH;
  const train = points
    .filter((p) => p.trainLoss !== undefined)
    .map((p) => `${fmt(x(p.step))},${fmt(y(p.trainLoss!))}`)
    .join(' ');
  const evals = points
    .filter((p) => p.evalLoss !== undefined)
    .map((p) => `<circle cx="${fmt(x(p.step))}" cy="${fmt(y(p.evalLoss!))}" r="3.5" fill="#d9480f"/>`)
    .join('');
  const yTicks = ticks(y0, y1, 5)
    .map(
      (t) =>
        `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${fmt(y(t))}" y2="${fmt(y(t))}" stroke="#e9ecef"/>` +
        `<text x="${PAD.left - 6}" y="${fmt(y(t) + 4)}" text-anchor="end">${label(t)}</text>`,
    )
    .join('');
  const xTicks = ticks(x0, x1, 6)
    .map(
      (t) => `<text x="${fmt(x(t))}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${label(t)}</text>`,
    )
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11" fill="#343a40">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    yTicks,
    xTicks,
    `<text x="${PAD.left}" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${WIDTH - PAD.right}" y="18" text-anchor="end"><tspan fill="#1c7ed6">— training</tspan>  <tspan fill="#d9480f">● evaluation</tspan></text>`,
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">step</text>`,
    train.length > 0 ? `<polyline points="${train}" fill="none" stroke="#1c7ed6" stroke-width="1.8"/>` : '',
    evals,
    `</svg>`,
  ].join('\n');
}

function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

function ticks(lo: number, hi: number, count: number): number[] {
  const step = niceStep((hi - lo) / count);
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(t);
  return out;
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

function label(v: number): string {
  return Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}

function fmt(v: number): string {
  return v.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
