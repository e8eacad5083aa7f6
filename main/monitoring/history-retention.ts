import { durationOf, type RetentionCut } from '../core';
import type { MetricHistory } from './metric-history';
import type { UsageRecorder } from './usage-recorder';

/** Metric history (per resolution) and usage, past their retention (monitoring also cuts them every 10 minutes). */
export function monitoringRetentionCuts(history: MetricHistory, usage: UsageRecorder): RetentionCut[] {
  const { rawMs, minuteMs, hourMs } = history.retention;
  return [
    {
      name: 'metric history',
      tables: ['monitoring_samples'],
      keeps: `raw samples ${durationOf(rawMs)}, minute roll-ups ${durationOf(minuteMs)}, hour roll-ups ${durationOf(hourMs)}`,
      run: (now) => history.prune(now),
    },
    {
      name: 'usage',
      tables: ['monitoring_usage', 'monitoring_op_usage'],
      keeps: durationOf(usage.retentionMs),
      run: (now) => usage.prune(now),
    },
  ];
}
