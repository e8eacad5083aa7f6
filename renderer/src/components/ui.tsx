import { Fragment, useEffect, useRef, useState, type ReactNode } from 'react';
import type { ClientError } from '../client/client';
import { useShowsErrorOnce } from './banner-scope';

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: string; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle !== undefined && <p className="muted">{subtitle}</p>}
      </div>
      {actions !== undefined && <div className="page-actions">{actions}</div>}
    </header>
  );
}

/**
 * Whether the element's content is wider than it is (a wide table in a narrow window). A region
 * that scrolls must take keyboard focus, or a keyboard user cannot scroll it.
 */
function useScrollsSideways<E extends HTMLElement>() {
  const ref = useRef<E>(null);
  const [scrolls, setScrolls] = useState(false);
  // Without deps on purpose: the children (the tables to watch) change with the card's data.
  useEffect(() => {
    const element = ref.current;
    if (element === null) return undefined;
    const measure = () => setScrolls(element.scrollWidth > element.clientWidth);
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    for (const child of element.children) observer.observe(child);
    measure();
    return () => observer.disconnect();
  });
  return { ref, scrolls };
}

export function Card({ title, children, wide }: { title?: string; children: ReactNode; wide?: boolean }) {
  const { ref, scrolls } = useScrollsSideways<HTMLElement>();
  return (
    <section
      ref={ref}
      className={wide === true ? 'card wide' : 'card'}
      tabIndex={scrolls ? 0 : undefined}
      aria-label={scrolls ? (title ?? 'Scrollable table') : undefined}
    >
      {title !== undefined && <h2>{title}</h2>}
      {children}
    </section>
  );
}

export function Stat({ label, value, tone }: { label: string; value: ReactNode; tone?: 'ok' | 'warn' | 'bad' }) {
  return (
    <div className={`stat ${tone ?? ''}`}>
      <div className="stat-value">{value}</div>
      <div className="stat-label">{label}</div>
    </div>
  );
}

const stateTone: Record<string, 'ok' | 'warn' | 'bad' | 'idle'> = {
  running: 'ok',
  passing: 'ok',
  ok: 'ok',
  connected: 'ok',
  degraded: 'warn',
  warning: 'warn',
  starting: 'warn',
  stopping: 'warn',
  failed: 'bad',
  critical: 'bad',
  error: 'bad',
  stopped: 'idle',
  idle: 'idle',
  delivered: 'ok',
  enabled: 'ok',
  pending: 'warn',
  retrying: 'warn',
  disabled: 'bad',
  done: 'ok',
  completed: 'ok',
  compensating: 'warn',
  compensated: 'warn',
  cancelled: 'idle',
  stuck: 'bad',
};

/**
 * A dotted or slashed name (`backup.sources.register`, `/api/v2/ops/jobs.list`) that may break after
 * its dots and slashes when its column is narrow, instead of widening the table past its card.
 */
export function BreakableName({ name }: { name: string }) {
  const parts = name.split(/(?<=[./])/);
  return (
    <>
      {parts.map((part, i) => (
        <Fragment key={i}>
          {i > 0 && <wbr />}
          {part}
        </Fragment>
      ))}
    </>
  );
}

export function StatusBadge({ state }: { state: string }) {
  return <span className={`badge ${stateTone[state] ?? 'idle'}`}>{state}</span>;
}

export function isRateLimited(error: ClientError | null): boolean {
  return error?.code === 'PH_RATE_LIMITED';
}

/** What a rate limit refused, in words: the tier and the wait come from the refusal's details. */
function rateLimitMessage(error: ClientError): string {
  const tier = (error.details as { tier?: unknown } | undefined)?.tier;
  const wait = error.retryAfterSeconds;
  if (wait === null) return error.message;
  const whose = typeof tier === 'string' ? `The ${tier} rate-limit tier of this key` : "This key's rate-limit tier";
  return `${whose} allows no more requests now; try again in ${wait} s. The view reads again by itself then.`;
}

/**
 * A failed call's code and message. Within a view, one banner per error: a rate limit (whatever its
 * wait) or the same code and message shown by another banner of the view already is not repeated.
 */
export function ErrorBanner({ error, onDismiss }: { error: ClientError | null; onDismiss?: () => void }) {
  const kind = error === null ? null : isRateLimited(error) ? error.code : `${error.code} ${error.message}`;
  const shows = useShowsErrorOnce(kind);
  const banner = useRef<HTMLDivElement>(null);
  // A new error is brought into view: an action refused far down a long list was told above it, off screen.
  useEffect(() => {
    if (kind !== null && shows) banner.current?.scrollIntoView?.({ block: 'nearest' });
  }, [kind, shows]);
  if (error === null || !shows) return null;
  return (
    <div className="error-banner" role="alert" ref={banner}>
      <strong>{error.code}</strong> {isRateLimited(error) ? rateLimitMessage(error) : error.message}
      {onDismiss !== undefined && (
        <button className="link" onClick={onDismiss} aria-label="Dismiss">
          ×
        </button>
      )}
    </div>
  );
}

/**
 * In place of a list or number whose source did not answer: says which source and the error's code,
 * so a down dependency never reads as an empty, healthy list.
 */
export function SourceDown({ what, error, testId }: { what: string; error: ClientError; testId?: string }) {
  // The source did answer: it was this key's rate limit that refused, which the view's banner says.
  if (isRateLimited(error))
    return (
      <div className="muted" role="status" data-testid={testId}>
        Not read yet: rate limited.
      </div>
    );
  return (
    <div className="empty-state source-down" role="status" data-testid={testId}>
      <h3>{what} did not answer</h3>
      <div>
        <strong className="mono">{error.code}</strong> <span className="muted">{error.message}</span>
      </div>
    </div>
  );
}

/** What a view shows before its capability has data: says what will be there, in words. */
export function EmptyState({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="empty-state">
      <h3>{title}</h3>
      <div className="muted">{children}</div>
    </div>
  );
}
