/**
 * A small line chart drawn as SVG by hand: no chart library is installed (uPlot and recharts are not
 * in the dependencies), and a few polylines with a grid, labelled axes and a legend are all the
 * console's charts need (the Overview, Cache, Alerts, Real-time and a job's progress).
 */
import { NBSP } from './format';

export interface ChartSeries {
  readonly name: string;
  readonly label: string;
  readonly unit: string;
  readonly points: readonly { t: number; avg: number }[];
}

const COLORS = ['#4aa3ff', '#d29922', '#3fb950', '#bc8cff', '#f85149'];
/** The drawing's width in the viewBox: the chart scales to its card, so a wider one keeps its height in a wide card. */
const W = 560;
const H = 170;
const PAD = { left: 58, right: 12, top: 10, bottom: 24 };

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  if (value === 0) return unit === 'ratio' || unit === '%' ? '0%' : '0';
  switch (unit) {
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let v = value;
      let i = 0;
      while (Math.abs(v) >= 1024 && i < units.length - 1) {
        v /= 1024;
        i += 1;
      }
      return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)}${NBSP}${units[i]}`;
    }
    case 'ratio':
      return `${(value * 100).toFixed(value >= 0.995 || value === 0 ? 0 : 1)}%`;
    case '%':
      return `${value.toFixed(value >= 10 ? 0 : 1)}%`;
    case 'ms':
      return value >= 1000 ? `${(value / 1000).toFixed(2)}${NBSP}s` : `${value >= 10 ? Math.round(value) : value.toFixed(2)}${NBSP}ms`;
    case 'req/s':
    case '/s':
      return `${value >= 100 ? Math.round(value) : value.toFixed(1)}/s`;
    default:
      return value >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(2);
  }
}

export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * exp) return step * exp;
  return 10 * exp;
}

function clock(t: number, from: number, spanMs: number): string {
  const d = new Date(t);
  if (spanMs > 2 * 86_400_000) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  // Under a minute (a short job's progress), clock times would repeat: seconds from the start instead.
  if (spanMs < 60_000) return `${((t - from) / 1000).toFixed(spanMs < 10_000 ? 1 : 0)}${NBSP}s`;
  // Under ten minutes, minutes alone would label two or three ticks alike.
  const seconds = spanMs < 600_000 ? { second: '2-digit' as const } : {};
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', ...seconds, hour12: false });
}

export function LineChart({
  title,
  series,
  from,
  to,
  stepMs,
  emptyText = 'No samples in this range yet (one every 10 s)',
  width = W,
}: {
  title: string;
  series: readonly ChartSeries[];
  from: number;
  to: number;
  /** The sampling step: a gap longer than 2.5 steps is drawn as a gap. */
  stepMs: number;
  emptyText?: string;
  /** Wider than 560 for a chart that spans a whole card. */
  width?: number;
}) {
  const unit = series[0]?.unit ?? '';
  const all = series.flatMap((s) => s.points.map((p) => p.avg));
  const max = niceMax(Math.max(0, ...all) * (unit === 'ratio' ? 1 : 1.1));
  const top = unit === 'ratio' ? Math.max(max, 1) : max;
  const x = (t: number) => PAD.left + ((t - from) / Math.max(1, to - from)) * (width - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / top) * (H - PAD.top - PAD.bottom);
  const hasData = all.length > 0;

  /** One polyline per unbroken run: a gap longer than 2.5 steps is drawn as a gap, not a slope. */
  const runs = (points: ChartSeries['points']) => {
    const out: string[] = [];
    let current: string[] = [];
    let last = -Infinity;
    for (const p of points) {
      if (p.t - last > 2.5 * stepMs && current.length > 0) {
        out.push(current.join(' '));
        current = [];
      }
      current.push(`${x(p.t).toFixed(1)},${y(p.avg).toFixed(1)}`);
      last = p.t;
    }
    if (current.length > 0) out.push(current.join(' '));
    return out;
  };

  return (
    <figure className="chart" data-testid={`chart-${series[0]?.name ?? title}`}>
      <figcaption>
        <span className="chart-title">{title}</span>
        <span className="chart-legend">
          {series.map((s, i) => {
            const latest = s.points.at(-1);
            return (
              <span key={s.name} className="legend-item">
                <span className="swatch" style={{ background: COLORS[i % COLORS.length] }} />
                {s.label} <strong>{latest === undefined ? '—' : formatValue(latest.avg, s.unit)}</strong>
              </span>
            );
          })}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${H}`} role="img" aria-label={`${title} chart`}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={PAD.left} x2={width - PAD.right} y1={y(top * f)} y2={y(top * f)} className="grid" />
            <text x={PAD.left - 6} y={y(top * f) + 4} textAnchor="end" className="axis">
              {formatValue(top * f, unit)}
            </text>
          </g>
        ))}
        {[from, (from + to) / 2, to].map((t, i) => (
          <text key={i} x={x(t)} y={H - 6} textAnchor={i === 0 ? 'start' : i === 2 ? 'end' : 'middle'} className="axis">
            {clock(t, from, to - from)}
          </text>
        ))}
        {series.map((s, i) =>
          runs(s.points).map((pts, j) =>
            pts.includes(' ') ? (
              <polyline
                key={`${s.name}-${j}`}
                points={pts}
                fill="none"
                stroke={COLORS[i % COLORS.length]}
                strokeWidth={1.8}
                strokeLinejoin="round"
              />
            ) : (
              <circle key={`${s.name}-${j}`} cx={pts.split(',')[0]} cy={pts.split(',')[1]} r={2.2} fill={COLORS[i % COLORS.length]} />
            ),
          ),
        )}
        {!hasData && (
          <text x={width / 2} y={H / 2} textAnchor="middle" className="axis">
            {emptyText}
          </text>
        )}
      </svg>
    </figure>
  );
}
