import { ServiceStateSchema } from '../ops/system';
import { noContent, unwrapField, withStatus, type ApiRelease, type JsonSchemaObject, type ResponseDown } from './change';

interface ServiceStatus {
  readonly name: string;
  readonly state: string;
}

/** v1's status: version, whole seconds up, and each service's state by name. */
const flatStatus: ResponseDown = {
  answer: (newer) => {
    const s = newer.body as { version: string; uptimeSeconds: number; services: readonly ServiceStatus[] };
    return {
      ...newer,
      body: {
        version: s.version,
        uptime: Math.round(s.uptimeSeconds),
        services: Object.fromEntries(s.services.map((x) => [x.name, x.state])),
      },
    };
  },
  document: (newer) => ({
    ...newer,
    schema: {
      type: 'object',
      required: ['version', 'uptime', 'services'],
      properties: {
        version: { type: 'string' },
        uptime: { type: 'integer', description: 'Seconds since start' },
        services: { type: 'object', additionalProperties: JSON.parse(JSON.stringify(ServiceStateSchema)) as JsonSchemaObject },
      },
    },
  }),
};

/** What v2 changed over v1. Each change is served to v1 clients by its response transform. */
export const v2 = {
  version: 'v2',
  date: '2026-11-01',
  changes: [
    {
      id: 'status-detailed',
      kind: 'changed',
      changelog:
        '`GET /status` answers the full status (`startedAt`, `uptimeSeconds`, `mode`, `services` as a list with details, `redis`, `tls`); v1 answered `{version, uptime, services: {name: state}}`.',
      routes: ['GET /status'],
      response: flatStatus,
    },
    {
      id: 'services-list-envelope',
      kind: 'changed',
      changelog:
        'Service lists come in an object (`{instances, index}`) rather than a bare array, so the registry index travels in the body too.',
      routes: ['GET /services'],
      response: unwrapField('instances'),
    },
    {
      id: 'service-instance-envelope',
      kind: 'changed',
      changelog: 'One service instance comes as `{instance}` (with room for more fields) rather than the bare instance.',
      routes: ['POST /services', 'GET /services/:id', 'PUT /services/:id/maintenance', 'GET /services/:id/pick'],
      response: unwrapField('instance'),
    },
    {
      id: 'service-register-created',
      kind: 'changed',
      changelog: 'Registering a service answers `201 Created`; v1 answered `200`.',
      routes: ['POST /services'],
      response: withStatus(200),
    },
    {
      id: 'service-acknowledgements-with-body',
      kind: 'changed',
      changelog: 'Deregistering and heartbeats answer `200` with what happened; v1 answered a bare `204`.',
      routes: ['DELETE /services/:id', 'PUT /services/:id/heartbeat'],
      response: noContent(),
    },
    {
      id: 'monitoring-routes',
      kind: 'added',
      changelog: 'Monitoring over REST: usage export, metric history and dependency health.',
      routes: ['GET /monitoring/usage', 'GET /monitoring/history', 'GET /monitoring/health'],
    },
  ],
} as const satisfies ApiRelease<'v2'>;
