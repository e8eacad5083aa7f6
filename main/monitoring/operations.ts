import { PhError } from '../../contract/errors';
import type { HandlersFor } from '../core';
import type { Monitoring } from './monitoring-service';
import { usageToCsv, type UsageGroup } from './usage-recorder';

type MonitoringOps =
  | 'monitoring.overview'
  | 'monitoring.operations'
  | 'monitoring.thresholds.set'
  | 'monitoring.health'
  | 'monitoring.system'
  | 'monitoring.series'
  | 'monitoring.history'
  | 'monitoring.alerts'
  | 'monitoring.alerts.history'
  | 'monitoring.alerts.save'
  | 'monitoring.alerts.delete'
  | 'monitoring.alerts.acknowledge'
  | 'monitoring.alerts.silence'
  | 'monitoring.usage'
  | 'monitoring.usage.export';

const HOUR = 3_600_000;
const DEFAULT_POINTS = 120;

function range(now: number, from: number | undefined, to: number | undefined, defaultSpanMs: number): { from: number; to: number } {
  const end = to ?? now;
  const start = from ?? end - defaultSpanMs;
  if (!(end > start)) throw new PhError('PH_MONITORING_BAD_RANGE', '"to" must be after "from"', { field: 'to' });
  return { from: start, to: end };
}

export function monitoringHandlers(monitoring: Monitoring, now: () => number): HandlersFor<MonitoringOps> {
  const usageReport = (input: { from?: number; to?: number; groupBy?: UsageGroup }) => {
    const r = range(now(), input.from, input.to, 24 * HOUR);
    return {
      ...r,
      rows: monitoring.usage.report(r.from, r.to, input.groupBy ?? 'key-route'),
      operations: monitoring.usage.operations(r.from, r.to),
    };
  };
  return {
    'monitoring.overview': () => monitoring.overview(),
    'monitoring.operations': (input) => {
      const scope = input.scope ?? 'window';
      const stats = monitoring.timings.stats(scope);
      const overview = monitoring.overview();
      const top = (key: 'p99Ms' | 'count' | 'errors') =>
        stats
          .filter((s) => s[key] > 0)
          .sort((a, b) => b[key] - a[key])
          .slice(0, 5);
      return {
        scope,
        windowSeconds: monitoring.timings.windowSeconds,
        operations: stats,
        slowLog: monitoring.timings.slowLog(),
        slowest: top('p99Ms'),
        mostCalled: top('count'),
        mostFailing: top('errors'),
        recommendations: overview.recommendations,
      };
    },
    'monitoring.thresholds.set': (input) => ({ name: input.name, slowMs: monitoring.timings.setThreshold(input.name, input.slowMs) }),
    'monitoring.health': async (input) => ({
      dependencies: input.refresh === true ? await monitoring.health.checkAll() : monitoring.health.list(),
    }),
    'monitoring.system': () => ({ system: monitoring.system.last }),
    'monitoring.series': () => ({ series: monitoring.series.list() }),
    'monitoring.history': (input) => {
      const r = range(now(), input.from, input.to, HOUR);
      const stepMs = (input.stepSeconds ?? Math.max(1, Math.ceil((r.to - r.from) / DEFAULT_POINTS / 1000))) * 1000;
      const result = monitoring.history.query({ series: input.series, from: r.from, to: r.to, stepMs }, (name) =>
        monitoring.series.has(name),
      );
      return {
        from: result.from,
        to: result.to,
        stepSeconds: Math.round(result.stepMs / 1000),
        resolutionSeconds: result.resolution,
        series: result.series.map((s) => ({ ...s, unit: monitoring.series.get(s.name)?.unit ?? '' })),
      };
    },
    'monitoring.alerts': () => ({
      rules: monitoring.alerts.rules(),
      active: monitoring.alerts.active(),
      status: monitoring.alerts.status(),
    }),
    'monitoring.alerts.acknowledge': (input, caller) => ({ silence: monitoring.alerts.acknowledge(input.ruleId, caller.actor) }),
    'monitoring.alerts.silence': (input, caller) => ({ silence: monitoring.alerts.silence(input.ruleId, caller.actor, input.seconds) }),
    'monitoring.alerts.history': (input) => ({ events: monitoring.alerts.history(input) }),
    'monitoring.alerts.save': (input) => {
      const existing = monitoring.alerts.rules().find((r) => r.id === input.rule.id);
      if (!monitoring.series.has(input.rule.metric) && existing?.metric !== input.rule.metric) {
        throw new PhError(
          'PH_MONITORING_UNKNOWN_SERIES',
          `There is no series named ${JSON.stringify(input.rule.metric)}; monitoring.series lists them`,
          {
            field: 'rule.metric',
          },
        );
      }
      return { rule: monitoring.alerts.save(input.rule) };
    },
    'monitoring.alerts.delete': (input) => {
      monitoring.alerts.delete(input.id);
      return { deleted: true };
    },
    'monitoring.usage': (input) => usageReport(input),
    'monitoring.usage.export': (input) => {
      const report = usageReport(input);
      const stamp = `${new Date(report.from).toISOString().slice(0, 16)}_${new Date(report.to).toISOString().slice(0, 16)}`.replaceAll(
        ':',
        '',
      );
      if (input.format === 'csv') {
        return { filename: `pilothouse-usage_${stamp}.csv`, contentType: 'text/csv; charset=utf-8', content: usageToCsv(report.rows) };
      }
      // The per-key breakdown (tier, requests, errors, bytes, refusals) beside the rows asked for.
      const byKey = monitoring.usage.report(report.from, report.to, 'key').map(({ route: _route, ...row }) => row);
      return {
        filename: `pilothouse-usage_${stamp}.json`,
        contentType: 'application/json',
        content: JSON.stringify({ ...report, byKey }, null, 2),
      };
    },
  };
}
