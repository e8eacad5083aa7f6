import { PhError } from '../../contract/errors';
import type { HandlersFor } from '../ops';
import type { VersionedRoute } from '../http';
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
    return { ...r, rows: monitoring.usage.report(r.from, r.to, input.groupBy ?? 'key-route') };
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
    'monitoring.alerts': () => ({ rules: monitoring.alerts.rules(), active: monitoring.alerts.active() }),
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

const int = (value: unknown): number | undefined => {
  if (typeof value !== 'string' || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new PhError('PH_INVALID_INPUT', 'from, to and step are non-negative integers');
  return n;
};

/**
 * REST for scripts and spreadsheets: `GET /api/v2/monitoring/usage?from=&to=&groupBy=&format=csv`
 * downloads the usage report; `GET /api/v2/monitoring/history?series=a,b&from=&to=&step=` returns
 * points for charts elsewhere; `GET /api/v2/monitoring/health` lists dependencies (503 when one that
 * is critical is down).
 */
export function monitoringRoutes(monitoring: Monitoring, now: () => number): VersionedRoute[] {
  const handlers = monitoringHandlers(monitoring, now);
  return [
    {
      method: 'GET',
      path: '/monitoring/usage',
      access: 'operator',
      summary: 'Usage per API key and route as CSV or JSON (?from=&to= epoch ms, groupBy=key|route|key-route, format=csv|json)',
      tags: ['monitoring'],
      versions: {
        v2: async (request, reply) => {
          const q = request.query as Record<string, unknown>;
          const format = q.format === 'csv' ? 'csv' : q.format === undefined || q.format === 'json' ? 'json' : null;
          if (format === null) throw new PhError('PH_INVALID_INPUT', 'format is csv or json', { field: 'format' });
          const groupBy = q.groupBy === undefined ? undefined : (q.groupBy as string);
          if (groupBy !== undefined && !['key', 'route', 'key-route'].includes(groupBy)) {
            throw new PhError('PH_INVALID_INPUT', 'groupBy is key, route or key-route', { field: 'groupBy' });
          }
          const file = await handlers['monitoring.usage.export'](
            { format, from: int(q.from), to: int(q.to), groupBy: groupBy as UsageGroup | undefined },
            request.caller as never,
          );
          return reply.type(file.contentType).header('content-disposition', `attachment; filename="${file.filename}"`).send(file.content);
        },
      },
    },
    {
      method: 'GET',
      path: '/monitoring/history',
      access: 'viewer',
      summary: 'Series over a range (?series=a,b&from=&to= epoch ms&step= seconds), from raw samples or roll-ups',
      tags: ['monitoring'],
      versions: {
        v2: async (request) => {
          const q = request.query as Record<string, unknown>;
          const series = typeof q.series === 'string' ? q.series.split(',').filter((x) => x !== '') : [];
          if (series.length === 0 || series.length > 20)
            throw new PhError('PH_INVALID_INPUT', 'series is a comma-separated list of 1 to 20 names', { field: 'series' });
          const step = int(q.step);
          if (step === 0 || (step !== undefined && step > 86_400))
            throw new PhError('PH_INVALID_INPUT', 'step is 1 to 86400 seconds', { field: 'step' });
          return handlers['monitoring.history']({ series, from: int(q.from), to: int(q.to), stepSeconds: step }, request.caller as never);
        },
      },
    },
    {
      method: 'GET',
      path: '/monitoring/health',
      access: 'viewer',
      summary: 'Each dependency, its status and since when',
      tags: ['monitoring'],
      versions: {
        v2: async (_request, reply) => {
          const dependencies = monitoring.health.list();
          return reply.code(monitoring.health.overall() === 'down' ? 503 : 200).send({ status: monitoring.health.overall(), dependencies });
        },
      },
    },
  ];
}
