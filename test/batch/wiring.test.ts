import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { waitFor } from './fixtures';

describe('jobs and batches through the control plane', () => {
  let p: TestPlane;
  let viewerKey: string;
  let abortedAt = 0;
  const api = async (method: string, path: string, body?: unknown, key?: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${key ?? p.adminKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${p.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    p = await startTestPlane();
    const queue = p.plane.running.batch.queue;
    queue.register(
      'test.wait',
      (_payload, ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            abortedAt = performance.now();
            reject(ctx.signal.reason);
          }),
        ),
    );
    queue.register('test.echo', (payload, ctx) => {
      ctx.progress(0.5, 'half way');
      return payload;
    });
    viewerKey = (await p.op('keys.create', { name: 'viewer', role: 'viewer' })).body.secret;
  });
  afterAll(() => p.stop());

  it('applies an atomic batch through POST /api/v1/batches and serves its report', async () => {
    const submit = await api('POST', '/api/v1/batches', {
      mode: 'atomic',
      operations: [
        { resource: 'record', action: 'create', id: 'a', data: { collection: 'hosts', ip: '10.0.0.1' } },
        { resource: 'record', action: 'update', id: 'a', data: { collection: 'hosts', ip: '10.0.0.2' } },
      ],
    });
    expect(submit.status).toBe(200);
    expect(submit.body.report.status).toBe('succeeded');
    const got = await api('GET', `/api/v1/batches/${submit.body.report.batchId}`);
    expect(got.body.counts).toEqual({ pending: 0, succeeded: 2, failed: 0, skipped: 0 });
  });

  it('refuses a batch naming an unknown resource, and one over 10,000 operations, with clear errors', async () => {
    const unknown = await api('POST', '/api/v1/batches', { operations: [{ resource: 'nope', action: 'create' }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('PH_BATCH_UNKNOWN_RESOURCE');
    expect(unknown.body.error.field).toBe('batch.operations.0.resource');
    const big = await api('POST', '/api/v1/batches', {
      operations: Array.from({ length: 10_001 }, () => ({ resource: 'record', action: 'delete', id: 'x' })),
    });
    expect(big.status).toBe(400);
    expect(big.body.error.code).toBe('PH_INVALID_INPUT');
  });

  it('names a batch applied at once, atomic or not, with a UUIDv7, as every id unique across the fleet', async () => {
    for (const mode of ['atomic', 'non-atomic'] as const) {
      const submit = await p.op('batch.submit', {
        batch: { mode, operations: [{ resource: 'record', action: 'create', id: `v7-${mode}`, data: { collection: 'c' } }] },
      });
      expect(submit.body.report.batchId, mode).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('runs a batch in the background as a batch.apply job with progress', async () => {
    const submit = await p.op('batch.submit', {
      background: true,
      batch: { mode: 'non-atomic', operations: [{ resource: 'record', action: 'create', id: 'bg', data: { collection: 'c' } }] },
    });
    const { jobId } = submit.body;
    await waitFor(async () => (await api('GET', `/api/v1/jobs/${jobId}`)).body.job.state === 'completed');
    const job = (await api('GET', `/api/v1/jobs/${jobId}`)).body;
    expect(job.job.progress).toBe(1);
    expect(job.job.result.status).toBe('succeeded');
    expect(job.logs[0].message).toMatch(/succeeded/);
    expect((await api('GET', `/api/v2/batches/${job.job.result.batchId}`)).body.status).toBe('succeeded');
  });

  it('a background batch that rolls back ends its job dead at the first attempt, naming the batch and the refused operation', async () => {
    const operations = [
      { resource: 'record', action: 'create', id: 'bg-twice', data: { collection: 'c' } },
      { resource: 'record', action: 'create', id: 'bg-twice', data: { collection: 'c' } },
    ];
    const { jobId } = (await p.op('batch.submit', { background: true, batch: { mode: 'atomic', operations } })).body;
    await waitFor(async () => (await api('GET', `/api/v1/jobs/${jobId}`)).body.job.state === 'dead');
    const { job } = (await api('GET', `/api/v1/jobs/${jobId}`)).body;
    expect(job.attemptsMade).toBe(1);
    expect(job.result).toBeNull();
    const batchId = job.payload.batchId as string;
    expect(job.lastError).toContain(`PH_BATCH_JOB_UNRECOVERABLE: Batch ${batchId} failed (0 succeeded, 1 failed, 1 skipped); operation 1:`);
    const report = (await api('GET', `/api/v2/batches/${batchId}`)).body;
    expect(report).toMatchObject({ status: 'failed', counts: { succeeded: 0, failed: 1, skipped: 1 } });
  });

  it('enqueues, lists with filters and publishes job events on the event socket', async () => {
    const ws = new WebSocket(`${p.url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${viewerKey}` } });
    const frames: any[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    await waitFor(() => frames.some((f) => f.type === 'welcome'));
    ws.send(JSON.stringify({ type: 'events', id: 'follow', events: ['jobs.changed', 'jobs.progress'] }));
    await waitFor(() => frames.some((f) => f.type === 'reply' && f.id === 'follow'));
    const { body } = await api('POST', '/api/v1/jobs', { type: 'test.echo', payload: { n: 1 }, priority: 5 });
    const id = body.job.id;
    await waitFor(() => frames.some((f) => f.event === 'jobs.changed' && f.payload.id === id && f.payload.state === 'completed'));
    expect(frames.some((f) => f.event === 'jobs.progress' && f.payload.id === id && f.payload.message === 'half way')).toBe(true);
    ws.close();
    const list = await api('GET', '/api/v1/jobs?type=test.echo&state=completed&limit=5');
    expect(list.body.jobs.map((j: { id: string }) => j.id)).toContain(id);
    const bad = await api('GET', '/api/v1/jobs?state=sideways');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('state');
  });

  it('refuses an unknown job type and an oversized priority', async () => {
    const unknown = await p.op('jobs.enqueue', { type: 'no.such' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('PH_BATCH_JOB_UNKNOWN_TYPE');
    const prio = await p.op('jobs.enqueue', { type: 'test.echo', priority: 1000 });
    expect(prio.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'priority' });
  });

  it('cancels a running job over HTTP within a second, audited; viewers may read but not mutate', async () => {
    const { body } = await p.op('jobs.enqueue', { type: 'test.wait' });
    const id = body.job.id;
    await waitFor(async () => (await p.op('jobs.get', { id })).body.job.state === 'active');
    expect((await p.op('jobs.cancel', { id }, viewerKey)).status).toBe(403);
    expect((await p.op('jobs.get', { id }, viewerKey)).status).toBe(200);
    const before = performance.now();
    const res = await api('POST', `/api/v1/jobs/${id}/cancel`);
    expect(res.status).toBe(200);
    await waitFor(() => abortedAt > 0, 1_000);
    expect(abortedAt).toBeGreaterThanOrEqual(before); // the cancel, within the wait's second, and not before it
    await waitFor(async () => (await p.op('jobs.get', { id })).body.job.state === 'cancelled');
    const audit = await p.op('audit.list', { limit: 20 });
    expect(audit.body.entries.some((e: { action: string; target: string }) => e.action === 'jobs.cancel' && e.target === id)).toBe(true);
    const retried = await api('POST', `/api/v1/jobs/${id}/retry`);
    expect(retried.body.job.state).toBe('waiting');
  });

  it('deletes a job that is not running and reports stats per type', async () => {
    const { body } = await p.op('jobs.enqueue', { type: 'test.echo', delayMs: 60_000 });
    expect((await api('DELETE', `/api/v1/jobs/${body.job.id}`)).body).toEqual({ deleted: true });
    expect((await api('GET', `/api/v1/jobs/${body.job.id}`)).status).toBe(404);
    const stats = await p.op('jobs.stats');
    expect(stats.body.backend).toBe('sqlite');
    expect(stats.body.types).toEqual(expect.arrayContaining(['batch.apply', 'test.echo', 'test.wait']));
    expect(stats.body.queues.find((q: { type: string }) => q.type === 'test.echo').counts.completed).toBeGreaterThanOrEqual(1);
  });
});
