import { Type, type TSchema } from '@sinclair/typebox';
import type { ApiVersion } from './api-versions';
import { versionsServing, type RouteRef } from './versions';
import { operations, type OperationName } from './operations';
import { UsageExportJsonSchema } from './ops/monitoring';
import type { Role } from './roles';

/**
 * How a query-string value becomes an input field. `string`: kept unless empty. `integer`: digits
 * become a number; anything else is passed on as it is, so the operation's schema names the field.
 * `flag`: `true` when the value is `true`, absent otherwise. `list`: comma-separated, empties dropped.
 */
export type QueryKind = 'string' | 'integer' | 'flag' | 'list';

/** Where a route's operation input comes from; path parameters always go in, under their own name unless renamed. */
export interface RestInput {
  /** Path parameters the operation calls by another name (`:id` → `name`). */
  readonly params?: Readonly<Record<string, string>>;
  /** Query parameters read, by kind; `[field, kind]` stores one under another name. */
  readonly query?: Readonly<Record<string, QueryKind | readonly [field: string, kind: QueryKind]>>;
  /** The JSON body: its fields merged into the input (path parameters win), or the whole body under one field. */
  readonly body?: 'merge' | { readonly field: string };
  /** Fields that take this value when the request leaves them out. */
  readonly defaults?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * How a version answers with the operation's result. `json` (the default): the result, or one of its
 * fields (`unwrap`), with `status` and headers taken from result fields (a field that is absent
 * sends no header; a boolean one sends `1` when true and no header when false). `empty`: 204. `file`: a
 * `{filename, contentType, content}` result as an attachment, of one of the media types listed (each
 * with the schema of its content). `download`: the file the operation prepared, streamed, of this
 * type. `health`: the dependencies with their overall status, 503 when a critical one is down.
 */
export type RestReply =
  | {
      readonly kind: 'json';
      readonly unwrap?: string;
      readonly status?: 200 | 201;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'file'; readonly media: Readonly<Record<string, TSchema>> }
  | { readonly kind: 'download'; readonly contentType: string }
  | { readonly kind: 'empty' }
  | { readonly kind: 'health' };

/** One REST route: a method and path (under `/api/<version>`) that call one operation. */
export interface RestRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: `/${string}`;
  readonly operation: OperationName;
  /** This row answers only when the query carries this parameter (another row of the same path answers otherwise). */
  readonly whenQuery?: string;
  readonly summary: string;
  readonly tag: string;
  readonly input?: RestInput;
  /**
   * How the latest version answers (a JSON body when absent). Older versions are served through the
   * changes declared in contract/versions/, which also say in which versions the route exists.
   */
  readonly reply?: RestReply;
}

const registryIndex = { 'x-registry-index': 'index' } as const;
const serviceFilter = { name: 'string', tag: 'string', state: 'string', versionRange: 'string' } as const;

/**
 * Every REST route, each onto one operation: the HTTP layer mounts exactly these, calls the
 * dispatcher with the input built as declared, and takes the route's role from the operation.
 * OpenAPI and GraphQL are generated from this same table.
 */
export const restRoutes: readonly RestRoute[] = [
  {
    method: 'GET',
    path: '/status',
    operation: 'system.status',
    summary: 'Version, uptime and the state of each service',
    tag: 'system',
  },
  // ── cache ──
  {
    method: 'GET',
    path: '/cache/:namespace/:key',
    operation: 'cache.get',
    summary: 'Read a cached value (L1 → L2 → L3)',
    tag: 'cache',
    reply: { kind: 'json', headers: { 'X-Cache-Stale': 'stale' } },
  },
  {
    method: 'PUT',
    path: '/cache/:namespace/:key',
    operation: 'cache.put',
    summary: 'Write a value through every tier',
    tag: 'cache',
    input: { body: 'merge' },
    reply: { kind: 'empty' },
  },
  {
    method: 'DELETE',
    path: '/cache/:namespace/:key',
    operation: 'cache.delete',
    summary: 'Drop a key on every node',
    tag: 'cache',
  },
  {
    method: 'POST',
    path: '/cache/:namespace/invalidate',
    operation: 'cache.invalidate',
    summary: 'Drop keys or tagged entries on every node',
    tag: 'cache',
    input: { body: 'merge' },
  },
  // ── batches and jobs ──
  {
    method: 'POST',
    path: '/batches',
    operation: 'batch.submit',
    summary: 'Submit a batch (JSON form); ?background=true runs it as a job',
    tag: 'batches',
    input: { body: { field: 'batch' }, query: { background: 'flag' } },
  },
  { method: 'GET', path: '/batches/:id', operation: 'batch.status', summary: "A batch's report", tag: 'batches' },
  {
    method: 'POST',
    path: '/jobs',
    operation: 'jobs.enqueue',
    summary: 'Enqueue a job',
    tag: 'jobs',
    input: { body: 'merge' },
  },
  {
    method: 'GET',
    path: '/jobs',
    operation: 'jobs.list',
    summary: 'List jobs (?state=&type=&parentId=&search=&createdAfter=&createdBefore=&sort=&limit=&cursor=&offset=)',
    tag: 'jobs',
    input: {
      query: {
        state: 'string',
        type: 'string',
        parentId: 'string',
        search: 'string',
        createdAfter: 'string',
        createdBefore: 'string',
        sort: 'string',
        limit: 'integer',
        cursor: 'string',
        offset: 'integer',
      },
    },
  },
  { method: 'GET', path: '/jobs/:id', operation: 'jobs.get', summary: 'One job with its log and children', tag: 'jobs' },
  { method: 'POST', path: '/jobs/:id/cancel', operation: 'jobs.cancel', summary: 'Cancel a job', tag: 'jobs' },
  {
    method: 'POST',
    path: '/jobs/:id/retry',
    operation: 'jobs.retry',
    summary: 'Retry a dead or cancelled job',
    tag: 'jobs',
  },
  {
    method: 'DELETE',
    path: '/jobs/:id',
    operation: 'jobs.delete',
    summary: 'Delete a job that is not running',
    tag: 'jobs',
  },
  // ── sagas ──
  {
    method: 'POST',
    path: '/sagas',
    operation: 'sagas.start',
    summary: 'Start a saga of a registered type',
    tag: 'sagas',
    input: { body: 'merge' },
    reply: { kind: 'json', status: 201 },
  },
  {
    method: 'GET',
    path: '/sagas',
    operation: 'sagas.list',
    summary: 'Sagas, newest first (?state=&type=&limit=&offset=), and the registered types',
    tag: 'sagas',
    input: { query: { state: 'string', type: 'string', limit: 'integer', offset: 'integer' } },
  },
  { method: 'GET', path: '/sagas/:id', operation: 'sagas.get', summary: "One saga with its steps' timeline", tag: 'sagas' },
  {
    method: 'POST',
    path: '/sagas/:id/cancel',
    operation: 'sagas.cancel',
    summary: 'Cancel a running saga; what it completed is compensated',
    tag: 'sagas',
  },
  // ── service registry ──
  {
    method: 'GET',
    path: '/services',
    operation: 'services.list',
    summary: 'Service instances by name, tag, health state and version range; long-polls with index and waitMs',
    tag: 'services',
    input: { query: { ...serviceFilter, order: 'string' } },
    reply: { kind: 'json', headers: registryIndex },
  },
  {
    method: 'GET',
    path: '/services',
    operation: 'services.watch',
    whenQuery: 'index',
    summary: 'Long-poll: the instances once the registry index passes ?index= (or ?waitMs= runs out)',
    tag: 'services',
    input: { query: { ...serviceFilter, index: 'integer', waitMs: 'integer' } },
    reply: { kind: 'json', headers: registryIndex },
  },
  {
    method: 'POST',
    path: '/services',
    operation: 'services.register',
    summary: 'Register (or re-register) a service instance with its checks',
    tag: 'services',
    input: { body: 'merge' },
    reply: { kind: 'json', status: 201 },
  },
  {
    method: 'GET',
    path: '/services/:id',
    operation: 'services.get',
    summary: "One instance with every check's status, output and history",
    tag: 'services',
  },
  {
    method: 'DELETE',
    path: '/services/:id',
    operation: 'services.deregister',
    summary: 'Deregister a service instance',
    tag: 'services',
  },
  {
    method: 'PUT',
    path: '/services/:id/heartbeat',
    operation: 'services.heartbeat',
    summary: 'Heartbeat: feeds the TTL checks of an instance',
    tag: 'services',
    input: { body: 'merge' },
  },
  {
    method: 'PUT',
    path: '/services/:id/maintenance',
    operation: 'services.maintenance',
    summary: 'Put an instance into maintenance or take it out: {"enabled": true, "reason": "..."}',
    tag: 'services',
    input: { body: 'merge' },
  },
  {
    method: 'GET',
    path: '/services/:id/pick',
    operation: 'services.pick',
    summary: 'Pick a passing instance of the service named in the path (key= for consistent hashing)',
    tag: 'services',
    input: { params: { id: 'name' }, query: { key: 'string' } },
  },
  // ── backups ──
  {
    method: 'GET',
    path: '/backups/sources',
    operation: 'backup.sources.list',
    summary: 'Backup sources and repository totals',
    tag: 'backups',
  },
  {
    method: 'POST',
    path: '/backups/sources',
    operation: 'backup.sources.register',
    summary: 'Register a SQLite file to back up',
    tag: 'backups',
    input: { body: 'merge' },
  },
  {
    method: 'POST',
    path: '/backups/sources/:id/snapshots',
    operation: 'backup.snapshot',
    summary: 'Take a snapshot now',
    tag: 'backups',
  },
  {
    method: 'GET',
    path: '/backups/snapshots',
    operation: 'backup.snapshots.list',
    summary: 'Snapshots, newest first',
    tag: 'backups',
    input: { query: { sourceId: 'string', limit: 'integer', offset: 'integer' } },
  },
  {
    method: 'POST',
    path: '/backups/snapshots/:id/verify',
    operation: 'backup.verify',
    summary: 'Verify a snapshot',
    tag: 'backups',
  },
  {
    method: 'POST',
    path: '/backups/restore',
    operation: 'backup.restore',
    summary: 'Restore a snapshot to a new file or in place',
    tag: 'backups',
    input: { body: 'merge' },
  },
  {
    method: 'POST',
    path: '/backups/prune',
    operation: 'backup.prune',
    summary: 'Apply retention and remove unneeded pages',
    tag: 'backups',
  },
  {
    method: 'GET',
    path: '/backups/snapshots/:id/download',
    operation: 'backup.export',
    summary: 'Download a snapshot as a plain .sqlite file (admin: it holds the whole database)',
    tag: 'backups',
    reply: { kind: 'download', contentType: 'application/vnd.sqlite3' },
  },
  // ── monitoring ──
  {
    method: 'GET',
    path: '/monitoring/usage',
    operation: 'monitoring.usage.export',
    summary: 'Usage per API key and route as CSV or JSON (?from=&to= epoch ms, groupBy=key|route|key-route, format=csv|json)',
    tag: 'monitoring',
    input: { query: { format: 'string', from: 'integer', to: 'integer', groupBy: 'string' }, defaults: { format: 'json' } },
    reply: { kind: 'file', media: { 'text/csv': Type.String(), 'application/json': UsageExportJsonSchema } },
  },
  {
    method: 'GET',
    path: '/monitoring/history',
    operation: 'monitoring.history',
    summary: 'Series over a range (?series=a,b&from=&to= epoch ms&step= seconds), from raw samples or roll-ups',
    tag: 'monitoring',
    input: { query: { series: 'list', from: 'integer', to: 'integer', step: ['stepSeconds', 'integer'] } },
  },
  {
    method: 'GET',
    path: '/monitoring/health',
    operation: 'monitoring.health',
    summary: 'Each dependency, its status and since when',
    tag: 'monitoring',
    reply: { kind: 'health' },
  },
];

/** How the version declarations name a route: `GET /services/:id`. */
export function routeRef(route: Pick<RestRoute, 'method' | 'path'>): RouteRef {
  return `${route.method} ${route.path}`;
}

/** The route's latest answer. */
export function replyOf(route: RestRoute): RestReply {
  return route.reply ?? { kind: 'json' };
}

/** One line of the route table: what the snapshot test pins and what generators read. */
export interface RouteTableRow {
  readonly method: RestRoute['method'];
  readonly path: string;
  readonly operation: OperationName;
  readonly role: Role;
  readonly versions: readonly ApiVersion[];
  readonly whenQuery?: string;
}

/** The route table, its roles taken from the operations: `GET /api/v2/jobs → jobs.list (viewer)`. */
export function routeTable(): RouteTableRow[] {
  return restRoutes.map((route) => ({
    method: route.method,
    path: route.path,
    operation: route.operation,
    role: operations[route.operation].minRole,
    versions: versionsServing(routeRef(route)),
    ...(route.whenQuery === undefined ? {} : { whenQuery: route.whenQuery }),
  }));
}
