import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { roleAllows } from '../../../contract/roles';
import { useClient, useSession } from '../client/client-context';

type KeyNames = ReadonlyMap<string, string>;

const KeyNamesContext = createContext<KeyNames>(new Map());

/**
 * Key ids → names for the whole console. Only an admin may list keys, so other roles keep seeing
 * ids; revoked keys are included because old audit rows and usage still name them. Reloaded every
 * minute so a key created in another tab gets its name without a reload.
 */
export function KeyNamesProvider({ children }: { children: ReactNode }) {
  const client = useClient();
  const { role } = useSession();
  const [names, setNames] = useState<KeyNames>(new Map());
  useEffect(() => {
    if (!roleAllows(role, 'admin')) return undefined;
    let cancelled = false;
    const load = () =>
      client.call('keys.list', { includeRevoked: true }).then(
        (result) => {
          if (!cancelled) setNames(new Map(result.keys.map((k) => [k.id, k.name])));
        },
        // Names are a courtesy: without them the ids stay, and the view's own errors say what is wrong.
        () => undefined,
      );
    void load();
    const timer = setInterval(() => void load(), 60_000);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [client, role]);
  return <KeyNamesContext.Provider value={names}>{children}</KeyNamesContext.Provider>;
}

/** The key id inside an actor or user string (`key:<id>`), or the string itself when it is a bare id. */
function keyIdOf(value: string): string {
  return value.startsWith('key:') ? value.slice(4) : value;
}

/** A key id, actor or realtime user shown by the key's name, with the raw value on hover. */
export function KeyName({ id }: { id: string }) {
  const names = useContext(KeyNamesContext);
  const name = names.get(keyIdOf(id));
  if (name === undefined) return <span className="mono">{id}</span>;
  return (
    <span className="key-name" title={id}>
      {name}
    </span>
  );
}

/**
 * The actor (`key:<id>`) of the key with this name, ignoring case; undefined when no key (that this
 * console can list) has it, or more than one does.
 */
export function useActorByKeyName(): (name: string) => string | undefined {
  const names = useContext(KeyNamesContext);
  return (name) => {
    const wanted = name.toLowerCase();
    const ids = [...names].filter(([, n]) => n.toLowerCase() === wanted).map(([id]) => id);
    return ids.length === 1 ? `key:${ids[0]}` : undefined;
  };
}

/** The name for a key id or actor, for text that cannot hold markup (a list joined with commas). */
export function useKeyName(): (id: string) => string {
  const names = useContext(KeyNamesContext);
  return (id) => names.get(keyIdOf(id)) ?? id;
}
