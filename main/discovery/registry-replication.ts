import { entryFromSnapshot, fingerprint, iso, type Replication } from './registry-entry';
import type { RegistryState } from './registry-state';

/**
 * Applies a change made on another node: written, published on this node's bus, and handed to
 * this node's checker, but never replicated back. An upsert replaces the instance with the
 * other node's view (its definition and its checks' status as their owner last saw them).
 */
export function applyRemote(state: RegistryState, message: Replication): void {
  if (message.kind === 'remove') applyRemove(state, message.id, message.reason);
  else if (message.kind === 'heartbeat') {
    const entry = state.entries.get(message.id);
    if (entry === undefined) return;
    entry.lastHeartbeatAt = message.at;
    state.emit({ kind: 'heartbeat', id: message.id });
  } else applyUpsert(state, message);
}

function applyRemove(state: RegistryState, id: string, reason: string): void {
  if (!state.entries.has(id)) return;
  const entry = state.get(id);
  state.store.transaction(() => {
    state.store.removeEntry(id);
    state.recordChange('deregistered', entry, reason);
  });
  state.entries.delete(id);
  state.invalidate(entry.name);
  state.bus.publish('service.deregistered', { id, name: entry.name, reason, at: iso(state.clock.now()) });
  state.emit({ kind: 'deregistered', id });
  state.wake(entry.name);
}

function applyUpsert(state: RegistryState, message: Extract<Replication, { kind: 'upsert' }>): void {
  const existing = state.entries.get(message.snapshot.id);
  const entry = entryFromSnapshot(message.snapshot, existing);
  const definitionChanged = existing === undefined || fingerprint(existing) !== fingerprint(entry);
  const statusChanged =
    existing === undefined ||
    [...entry.checks.values()].some((c) => existing.checks.get(c.def.id)?.damp.status !== c.damp.status) ||
    existing.maintenance?.reason !== entry.maintenance?.reason;
  if (!definitionChanged && !statusChanged) {
    // Only output moved: keep it in memory, as for local results.
    for (const c of entry.checks.values()) {
      const mine = existing.checks.get(c.def.id);
      if (mine !== undefined) Object.assign(mine, { output: c.output, checkedAt: c.checkedAt });
    }
    return;
  }
  const previous = existing?.state;
  state.store.transaction(() => {
    state.store.saveEntry(entry, 'with-checks');
    for (const check of entry.checks.values()) {
      const before = existing?.checks.get(check.def.id)?.damp.status;
      if (existing !== undefined && before !== undefined && before !== check.damp.status) {
        state.store.addHistory(entry.id, check.def.id, check.changedAt, check.damp.status, check.output);
      }
    }
    state.recordChange(definitionChanged ? 'registered' : 'check', entry, 'from another node');
  });
  state.entries.set(entry.id, entry);
  state.invalidate(entry.name);
  if (existing !== undefined && existing.name !== entry.name) state.invalidate(existing.name);
  const checks = [...entry.checks.values()].map((c) => c.def);
  if (definitionChanged) {
    state.bus.publish('service.registered', state.toInstance(entry));
    state.emit({ kind: 'registered', id: entry.id, checks });
  } else {
    state.emit({ kind: 'adopted', id: entry.id, checks });
  }
  if (previous !== undefined && previous !== entry.state) {
    state.bus.publish('service.health', {
      id: entry.id,
      name: entry.name,
      state: entry.state,
      previous,
      check: null,
      at: iso(state.clock.now()),
    });
  }
  state.wake(entry.name);
}
