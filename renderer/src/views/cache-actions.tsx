/** The Cache view's levers: invalidate, clear and warm, and the key browser with its inspector. */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useAction, useClient, useEvent } from '../client/client-context';
import { ClientError } from '../client/client';
import { useCoalesced } from '../client/coalesce';
import { usePagedList, useSettled } from '../client/paged-list';
import { useConfirm } from '../components/confirm-dialog';
import { DataTable, PageFooter } from '../components/data-table';
import { Card, ErrorBanner } from '../components/ui';
import { KeyInspector } from './cache-inspector';
import { formatValue } from '../components/line-chart';

type Done = { text: string } | null;

/** Invalidate a key or tag, clear a namespace, warm: each asks for confirmation and is audited. */
export function CacheActions({ namespaces, warmups, onDone }: { namespaces: string[]; warmups: string[]; onDone: () => void }) {
  const invalidate = useAction('cache.invalidate');
  const clear = useAction('cache.clear');
  const warm = useAction('cache.warm');
  const { confirm, dialog } = useConfirm();
  const [namespace, setNamespace] = useState('');
  const [target, setTarget] = useState('');
  const [kind, setKind] = useState<'key' | 'tag'>('key');
  const [done, setDone] = useState<Done>(null);
  const [progress, setProgress] = useState<string | null>(null);
  useEvent('cache.warm.progress', (p) =>
    setProgress(
      `${p.namespace}: ${p.done}/${p.total} (${p.fromCache} from cache, ${p.loaded} loaded, ${p.failed} failed)${p.finished ? ' — done' : ''}`,
    ),
  );
  const ns = namespace.trim();
  // Warm-up lists are registered in code, per node: say why Warm cannot run rather than let it fail.
  const cannotWarm =
    warmups.length === 0
      ? 'No warm-up lists are registered on this node'
      : ns !== '' && !warmups.includes(ns)
        ? `${ns} has no warm-up list on this node (${warmups.join(', ')} have)`
        : null;
  const error: ClientError | null = invalidate.error ?? clear.error ?? warm.error;

  const submitInvalidate = (event: FormEvent) => {
    event.preventDefault();
    confirm({
      title: `Drop ${kind} "${target}" from namespace ${ns}?`,
      body: <p>It is dropped on every node.</p>,
      confirmLabel: 'Invalidate',
      danger: true,
      onConfirm: async () => {
        const input = kind === 'key' ? { namespace: ns, keys: [target] } : { namespace: ns, tags: [target] };
        const result = await invalidate.run(input);
        if (result !== undefined) {
          setDone({ text: `Dropped ${kind} "${target}" from ${ns} (${result.removed} entr${result.removed === 1 ? 'y' : 'ies'}).` });
          onDone();
        }
      },
    });
  };
  const clearNamespace = () =>
    confirm({
      title: `Clear namespace ${ns}?`,
      body: <p>Every entry of {ns} is dropped on every node. Other namespaces stay.</p>,
      confirmLabel: 'Clear namespace',
      danger: true,
      onConfirm: async () => {
        const result = await clear.run({ namespace: ns });
        if (result !== undefined) {
          setDone({ text: `Cleared namespace ${ns} (${result.removed} entr${result.removed === 1 ? 'y' : 'ies'}).` });
          onDone();
        }
      },
    });
  const runWarm = () =>
    confirm({
      title: ns === '' ? 'Run every warm-up list now?' : `Run the warm-up list of ${ns} now?`,
      confirmLabel: 'Warm',
      onConfirm: async () => {
        const result = await warm.run(ns === '' ? {} : { namespace: ns });
        if (result === undefined) return;
        setDone({
          text:
            result.results.length === 0
              ? 'No warm-up lists are registered.'
              : `Warmed ${result.results.map((r) => `${r.namespace} (${r.done}/${r.total})`).join(', ')}.`,
        });
        // A warm-up fills keys without a cache.written event (no value a client holds changed).
        onDone();
      },
    });

  return (
    <Card title="Actions">
      {dialog}
      <ErrorBanner error={error} onDismiss={() => (invalidate.clearError(), clear.clearError(), warm.clearError())} />
      {done !== null && (
        <div className="notice" role="status" data-testid="cache-action-result">
          {done.text}{' '}
          <button className="link" onClick={() => setDone(null)}>
            OK
          </button>
        </div>
      )}
      {progress !== null && (
        <p className="muted small" data-testid="warm-progress">
          Warm-up: {progress}
        </p>
      )}
      <form
        className="inline-form"
        onSubmit={submitInvalidate}
        onChange={() => (invalidate.clearError(), clear.clearError(), warm.clearError())}
      >
        <label>
          Namespace
          <input
            list="cache-namespaces"
            value={namespace}
            onChange={(e) => setNamespace(e.target.value)}
            placeholder="e.g. users"
            maxLength={64}
            pattern="[A-Za-z0-9_.\-]+"
          />
          <datalist id="cache-namespaces">
            {namespaces.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </label>
        <label>
          Drop
          <select value={kind} onChange={(e) => setKind(e.target.value as 'key' | 'tag')}>
            <option value="key">a key</option>
            <option value="tag">a tag</option>
          </select>
        </label>
        <label>
          {kind === 'key' ? 'Key' : 'Tag'}
          <input value={target} onChange={(e) => setTarget(e.target.value)} maxLength={512} />
        </label>
        <button type="submit" className="primary" disabled={invalidate.pending || ns === '' || target === ''}>
          Invalidate
        </button>
        <button type="button" className="danger" disabled={clear.pending || ns === ''} onClick={clearNamespace}>
          Clear namespace
        </button>
        <button type="button" disabled={warm.pending || cannotWarm !== null} title={cannotWarm ?? undefined} onClick={runWarm}>
          {warm.pending ? 'Warming…' : 'Warm'}
        </button>
      </form>
      <p className="muted small">Every action reaches every node through the invalidation bus and is written to the audit log.</p>
    </Card>
  );
}

/** How often at most the key list is read again while keys of its namespace keep changing. */
const KEYS_REREAD_MS = 1_000;

/** Keys of a namespace on this node and in Redis, paged by the server in key order, and one key's state in each tier. */
export function KeyBrowser({
  namespaces,
  refresh,
}: {
  namespaces: string[];
  /** Changed by the view after its own actions (invalidate, clear, warm): read the list again. */
  refresh: number;
}) {
  const client = useClient();
  const [namespace, setNamespace] = useState('');
  const [pattern, setPattern] = useState('');
  const [tier, setTier] = useState<'' | 'l1' | 'l2' | 'l3'>('');
  const [selected, setSelected] = useState<string | null>(null);
  const active = namespace === '' ? (namespaces[0] as string) : namespace;
  const query = useSettled(pattern.trim());
  const filter = { namespace: active, ...(query === '' ? {} : { pattern: query }), ...(tier === '' ? {} : { tier }) };
  // The tiers the newest answer could not read: a list without Redis's keys must not pass for whole.
  const [unavailable, setUnavailable] = useState<readonly string[]>([]);
  const asked = useRef(0);
  const keys = usePagedList(async (cursor, limit) => {
    const mine = ++asked.current;
    const page = await client.call('cache.keys', { ...filter, limit, ...(cursor === undefined ? {} : { cursor }) });
    if (mine === asked.current) setUnavailable(page.unavailable);
    return { items: page.keys, total: page.total, nextCursor: page.nextCursor };
  }, JSON.stringify(filter));
  // Read again once Redis answers: at once when the link comes back, or at the next stats tick when
  // the link never went down (a SCAN that timed out on a Redis that hung for a moment).
  const readAgainIfUp = (state: string) => {
    if (state === 'up' && unavailable.length > 0) keys.reload();
  };
  useEvent('cache.redis', (redis) => readAgainIfUp(redis.state));
  useEvent('cache.stats', (stats) => readAgainIfUp(stats.redis.state));
  // Keys dropped or written here, on another node or by a program: the list must not keep showing
  // what is gone (nor miss what came), yet a write storm must not become a read storm.
  const readKeysSoon = useCoalesced(keys.reload, KEYS_REREAD_MS);
  useEvent('cache.invalidated', (e) => e.namespace === active && readKeysSoon());
  useEvent('cache.written', (e) => e.namespace === active && readKeysSoon());
  const reloadKeys = keys.reload;
  useEffect(() => {
    if (refresh > 0) reloadKeys();
  }, [refresh, reloadKeys]);
  const dropMatching = useAction('cache.invalidateMatching');
  const { confirm, dialog } = useConfirm();
  const [countError, setCountError] = useState<ClientError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [inspectTick, setInspectTick] = useState(0);
  // Count first, from the server (every tier, every page), then ask with that number in the question.
  const askDropMatching = async () => {
    setCountError(null);
    let total: number;
    let redisUnread: boolean;
    try {
      const count = await client.call('cache.keys', { namespace: active, pattern: query, limit: 1 });
      total = count.total;
      redisUnread = count.unavailable.includes('l2');
    } catch (err) {
      setCountError(err instanceof ClientError ? err : new ClientError('PH_INTERNAL', String(err)));
      return;
    }
    if (total === 0) {
      setDone(
        redisUnread
          ? `No key of ${active} in L1 or L3 matches ${query}; Redis (L2) could not be read.`
          : `No key of ${active} matches ${query}.`,
      );
      return;
    }
    confirm({
      title: `Delete ${total} key${total === 1 ? '' : 's'} matching ${query}?`,
      body: (
        <>
          <p>Every key of namespace {active} that matches is dropped from every tier on every node.</p>
          {redisUnread && <p>Redis (L2) could not be read: keys held only there are not in this count and are not dropped.</p>}
        </>
      ),
      confirmLabel: `Delete ${total}`,
      danger: true,
      onConfirm: async () => {
        const result = await dropMatching.run({ namespace: active, pattern: query });
        if (result === undefined) return;
        const deleted = `Deleted ${result.matched} key${result.matched === 1 ? '' : 's'} matching ${query} from ${active}.`;
        // Redis went unread during the call (even if it answered the count): what it alone holds is still there.
        setDone(
          result.unavailable.includes('l2')
            ? `${deleted} Redis (L2) could not be read: keys held only there may remain; delete again once Redis is back.`
            : deleted,
        );
        keys.reload();
        setInspectTick((t) => t + 1);
      },
    });
  };
  return (
    <Card title="Keys">
      {dialog}
      <div className="inline-form" onChange={() => (setCountError(null), dropMatching.clearError())}>
        <label>
          Namespace
          <select value={active} onChange={(e) => (setNamespace(e.target.value), setSelected(null))}>
            {namespaces.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label>
          Pattern
          <input
            type="search"
            aria-label="Key pattern"
            value={pattern}
            onChange={(e) => setPattern(e.target.value)}
            placeholder="e.g. user:* (* is any run)"
            maxLength={512}
          />
        </label>
        <label>
          Tier
          <select aria-label="Tier filter" value={tier} onChange={(e) => setTier(e.target.value as '' | 'l1' | 'l2' | 'l3')}>
            <option value="">any</option>
            <option value="l1">L1 (memory)</option>
            <option value="l2">L2 (Redis)</option>
            <option value="l3">L3 (SQLite)</option>
          </select>
        </label>
        <button className="danger" disabled={query === '' || dropMatching.pending} onClick={() => void askDropMatching()}>
          Delete matching…
        </button>
      </div>
      <ErrorBanner
        error={keys.error ?? countError ?? dropMatching.error}
        onDismiss={() => (setCountError(null), dropMatching.clearError())}
      />
      {done !== null && (
        <div className="notice" role="status" data-testid="keys-result">
          {done}{' '}
          <button className="link" onClick={() => setDone(null)}>
            OK
          </button>
        </div>
      )}
      {unavailable.includes('l2') && (
        <div className="notice" role="status" data-testid="keys-unavailable">
          Redis (L2) could not be read: keys held only there are missing from this list and its count. It reads again when Redis is back.
        </div>
      )}
      <DataTable
        testId="keys-browser"
        rows={keys.rows}
        rowKey={(k) => k.key}
        rowClassName={(k) => (k.key === selected ? 'selected' : undefined)}
        windowed={{ label: 'Cache keys', height: 560, rowHeight: 37 }}
        columns={[
          {
            header: 'Key',
            className: 'mono',
            cell: (k) => (
              <button className="link" onClick={() => setSelected(k.key)}>
                {k.key}
              </button>
            ),
          },
          { header: 'Tiers', cell: (k) => k.tiers.join(' · ') },
          { header: 'Size', className: 'right', cell: (k) => (k.size === 0 ? '—' : formatValue(k.size, 'bytes')) },
          { header: 'Tags', className: 'muted', cell: (k) => k.tags.join(', ') },
          {
            header: 'Fresh until',
            className: 'muted small',
            cell: (k) => (k.expiresAt === null ? '—' : new Date(k.expiresAt).toLocaleTimeString(undefined, { hour12: false })),
          },
        ]}
      />
      <PageFooter
        testId="keys-count"
        shown={keys.rows?.length ?? 0}
        total={keys.total}
        noun="keys"
        hasMore={keys.hasMore}
        loading={keys.loading}
        onMore={keys.loadMore}
      />
      {selected !== null && (
        <KeyInspector
          key={`${active}/${selected}`}
          namespace={active}
          cacheKey={selected}
          canEdit
          confirm={confirm}
          onChanged={keys.reload}
          refresh={inspectTick}
        />
      )}
    </Card>
  );
}
