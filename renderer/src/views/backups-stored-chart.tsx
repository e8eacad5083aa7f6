import { useMemo } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { formatBytes, formatTime } from '../components/format';
import { niceMax } from '../components/line-chart';
import { Card } from '../components/ui';

type Snapshot = OperationResult<'backup.snapshots.list'>['snapshots'][number];

const W = 900;
const H = 170;
const PAD = { left: 64, right: 10, top: 8, bottom: 22 };

/** Bytes each snapshot added to the repository, oldest to newest: the cost of every backup at a glance. */
export function StoredChart({ snapshots }: { snapshots: Snapshot[] }) {
  const points = useMemo(() => [...snapshots].sort((a, b) => Date.parse(a.capturedAt) - Date.parse(b.capturedAt)).slice(-60), [snapshots]);
  if (points.length === 0) return null;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  // Each snapshot a slot across the whole width; a bar at most 48 wide, so a few read as bars, not blocks.
  const slot = plotW / points.length;
  const bar = Math.min(48, slot);
  let total = 0;
  const cumulative = points.map((p) => (total += p.addedBytes));
  const top = niceMax(Math.max(1, total, ...points.map((p) => p.logicalBytes)));
  const y = (bytes: number) => PAD.top + plotH * (1 - bytes / top);
  const x = (i: number) => PAD.left + i * slot + (slot - bar) / 2;
  const line = cumulative.map((c, i) => `${(x(i) + bar / 2).toFixed(1)},${y(c).toFixed(1)}`).join(' ');
  const first = points[0] as Snapshot;
  const last = points.at(-1) as Snapshot;
  return (
    <Card title="Stored size over time" wide>
      <svg className="backup-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Bytes stored per snapshot">
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(top * f)} y2={y(top * f)} className="grid" />
            <text x={PAD.left - 6} y={y(top * f) + 4} textAnchor="end" className="axis">
              {formatBytes(top * f)}
            </text>
          </g>
        ))}
        {points.map((p, i) => (
          <g key={p.id}>
            <rect
              x={x(i) + 1}
              y={y(p.logicalBytes)}
              width={Math.max(1, bar - 2)}
              height={PAD.top + plotH - y(p.logicalBytes)}
              className="logical"
            >
              <title>{`${p.sourceName} ${formatTime(p.capturedAt)}: ${formatBytes(p.logicalBytes)} database, ${formatBytes(p.addedBytes)} stored`}</title>
            </rect>
            <rect
              x={x(i) + 1}
              y={y(p.addedBytes)}
              width={Math.max(1, bar - 2)}
              height={PAD.top + plotH - y(p.addedBytes)}
              className="added"
            />
          </g>
        ))}
        <polyline points={line} className="total" />
        <text x={PAD.left} y={H - 6} textAnchor="start" className="axis">
          {formatTime(first.capturedAt)}
        </text>
        {points.length > 1 && (
          <text x={W - PAD.right} y={H - 6} textAnchor="end" className="axis">
            {formatTime(last.capturedAt)}
          </text>
        )}
      </svg>
      <p className="muted small">
        Grey: database size at each snapshot. Blue: what that snapshot added to the repository. Line: repository growth,{' '}
        {formatBytes(total)} for {points.length} snapshots of {formatBytes(points.reduce((s, p) => s + p.logicalBytes, 0))}.
      </p>
    </Card>
  );
}
