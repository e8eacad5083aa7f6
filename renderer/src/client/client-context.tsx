import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { EventName, EventPayload } from '../../../contract/events';
import type { OperationInput, OperationName, OperationResult } from '../../../contract/operations';
import type { Role } from '../../../contract/roles';
import { ClientError, type Client, type ConnectionState } from './client';

interface Session {
  readonly client: Client;
  readonly role: Role;
  readonly signOut: (() => void) | null;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ session, children }: { session: Session; children: ReactNode }) {
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside SessionProvider');
  return session;
}

export function useClient(): Client {
  return useSession().client;
}

export interface OperationState<T> {
  data: T | undefined;
  error: ClientError | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Calls a read operation when the view mounts and whenever `deps` change, and again on `reload()`.
 * Pass `refreshOn` to reload when one of those events arrives.
 */
export function useOperation<N extends OperationName>(
  name: N,
  input: OperationInput<N>,
  options: {
    deps?: readonly unknown[];
    refreshOn?: readonly EventName[];
    intervalMs?: number;
    /** False: make no call (e.g. nothing is selected yet); data stays as it was. */
    enabled?: boolean;
  } = {},
): OperationState<OperationResult<N>> {
  const client = useClient();
  const [data, setData] = useState<OperationResult<N>>();
  const [error, setError] = useState<ClientError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const inputKey = JSON.stringify(input);

  const enabled = options.enabled ?? true;
  useEffect(() => {
    if (!enabled) {
      setLoading(false);
      return undefined;
    }
    let cancelled = false;
    setLoading(true);
    client.call(name, JSON.parse(inputKey) as OperationInput<N>).then(
      (result) => {
        if (cancelled) return;
        setData(result);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (cancelled) return;
        setError(err instanceof ClientError ? err : new ClientError('PH_INTERNAL', String(err)));
        setLoading(false);
      },
    );
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, name, inputKey, tick, enabled, ...(options.deps ?? [])]);

  const refreshKey = (options.refreshOn ?? []).join(',');
  useEffect(() => {
    if (refreshKey === '') return undefined;
    const names = new Set(refreshKey.split(','));
    return client.onEvent((message) => {
      if (names.has(message.event)) reload();
    });
  }, [client, refreshKey, reload]);

  useEffect(() => {
    if (options.intervalMs === undefined) return undefined;
    const timer = setInterval(reload, options.intervalMs);
    return () => clearInterval(timer);
  }, [options.intervalMs, reload]);
  useReadAgainWhenAllowed(error, reload);

  return { data, error, loading, reload };
}

/**
 * After a PH_RATE_LIMITED answer, reads again once the window the server named has passed, so a
 * view without a polling interval does not stay empty until the operator reloads the page.
 */
export function useReadAgainWhenAllowed(error: ClientError | null, reload: () => void): void {
  const wait = error?.code === 'PH_RATE_LIMITED' ? error.retryAfterSeconds : null;
  useEffect(() => {
    if (wait === null) return undefined;
    const timer = setTimeout(reload, Math.max(1, wait) * 1000);
    return () => clearTimeout(timer);
  }, [error, wait, reload]);
}

/** Calls `handler` with each payload of `event`; the latest handler is used without resubscribing. */
export function useEvent<N extends EventName>(event: N, handler: (payload: EventPayload<N>) => void): void {
  const client = useClient();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(
    () =>
      client.onEvent((message) => {
        if (message.event === event) ref.current(message.payload as EventPayload<N>);
      }),
    [client, event],
  );
}

export function useConnectionState(): ConnectionState {
  const client = useClient();
  const [state, setState] = useState<ConnectionState>('connecting');
  useEffect(() => client.onConnection(setState), [client]);
  return state;
}

/** Runs a mutating operation and tracks its pending state and error for a form or button. */
export function useAction<N extends OperationName>(name: N) {
  const client = useClient();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ClientError | null>(null);
  const run = useCallback(
    async (input: OperationInput<N>): Promise<OperationResult<N> | undefined> => {
      setPending(true);
      setError(null);
      try {
        return await client.call(name, input);
      } catch (err) {
        setError(err instanceof ClientError ? err : new ClientError('PH_INTERNAL', String(err)));
        return undefined;
      } finally {
        setPending(false);
      }
    },
    [client, name],
  );
  // Stable, so a form can clear its error on every input change without re-rendering its children.
  const clearError = useCallback(() => setError(null), []);
  return { run, pending, error, clearError };
}
