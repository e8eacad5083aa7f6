import { daysOf, type RetentionCut } from '../core';
import type { MetricHistory } from './metric-history';
import type { UsageRecorder } from './usage-recorder';

/** Metric history (per resolution) and usage, past their retention (monitoring also cuts them every 10 minutes). */
export function monitoringRetentionCuts(history: MetricHistory, usage: UsageRecorder): RetentionCut[] {
  const { rawMs, minuteMs, hourMs } = history.retention;
  return [
    {
      name: 'metric history',
      tables: ['monitoring_samples'],
      keeps: `raw samples ${daysOf(rawMs)}, minute roll-ups ${daysOf(minuteMs)}, hour roll-ups ${daysOf(hourMs)}`,
      run: (now) => history.prune(now),
    },
    {
      name: 'usage',
      tables: ['monitoring_usage', 'monitoring_op_usage'],
      keeps: daysOf(usage.retentionMs),
      run: (now) => usage.prune(now),
    },
  ];
}
