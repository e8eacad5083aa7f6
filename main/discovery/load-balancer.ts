import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import { HashRing } from './hash-ring';
import { OutlierDetector, type Ejection } from './outlier-detector';
import type { ServiceRegistry, Target } from './registry';

/**
 * How a request to an instance ended. `client` is a request the caller spoiled (a header the
 * upstream client refuses, a path it will not send, a caller gone before the answer): it says
 * nothing about the instance, so it neither ejects it nor clears its failures.
 */
export type Outcome = 'ok' | 'http-5xx' | 'connect-failure' | 'client';

interface ServiceState {
  rr: number;
  /** Smooth weighted round-robin (nginx): each instance's running score. */
  wrr: Map<string, number>;
  ring: { signature: string; ring: HashRing<Target> } | null;
  outliers: OutlierDetector;
}

export interface PickOptions {
  /** consistent-hash: the request key; without one the pick is random. */
  readonly key?: string;
  /** Instances not to pick (the one a retry moves away from). */
  readonly exclude?: ReadonlySet<string>;
}

/**
 * Picks an instance of a service with the service's strategy, from its passing instances only
 * (warning, critical and maintenance never), leaving out those ejected as outliers. The gateway
 * reports each request's outcome back, which feeds least-requests and outlier ejection.
 */
export class LoadBalancer {
  readonly #services = new Map<string, ServiceState>();
  readonly #inFlight = new Map<string, number>();
  readonly #ejectionListeners = new Set<(name: string, ejection: Ejection) => void>();

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {}

  pick(name: string, options: PickOptions = {}): Target {
    const state = this.#state(name);
    const passing = this.registry.passing(name);
    const now = this.clock.now();
    const exclude = options.exclude;
    const candidates =
      state.outliers.ejectedCount(now) === 0 && (exclude === undefined || exclude.size === 0)
        ? passing
        : passing.filter((t) => !state.outliers.isEjected(t.id, now) && exclude?.has(t.id) !== true);
    if (candidates.length === 0) {
      throw new PhError(
        'PH_DISCOVERY_NO_INSTANCE',
        passing.length === 0
          ? `Service ${JSON.stringify(name)} has no passing instance`
          : `Every passing instance of ${JSON.stringify(name)} is ejected or already tried`,
        {
          details: { service: name, passing: passing.length },
        },
      );
    }
    if (candidates.length === 1) return candidates[0] as Target;
    switch (this.registry.policy(name).strategy) {
      case 'round-robin': {
        state.rr = (state.rr + 1) % 1_000_000_007;
        return candidates[state.rr % candidates.length] as Target;
      }
      case 'weighted':
        return smoothWeighted(state.wrr, candidates);
      case 'least-requests': {
        // Power of two choices: two distinct random instances, the one with fewer requests in flight.
        const i = Math.floor(this.random() * candidates.length);
        let j = Math.floor(this.random() * (candidates.length - 1));
        if (j >= i) j += 1;
        const a = candidates[i] as Target;
        const b = candidates[j] as Target;
        return (this.#inFlight.get(b.id) ?? 0) < (this.#inFlight.get(a.id) ?? 0) ? b : a;
      }
      case 'random':
        return candidates[Math.floor(this.random() * candidates.length)] as Target;
      case 'consistent-hash': {
        if (options.key === undefined) return candidates[Math.floor(this.random() * candidates.length)] as Target;
        return this.#ring(state, candidates).get(options.key) as Target;
      }
    }
  }

  /** A request to `target` started; call `end` with its outcome when it is over. */
  begin(target: Target): void {
    this.#inFlight.set(target.id, (this.#inFlight.get(target.id) ?? 0) + 1);
  }

  end(target: Target, outcome: Outcome): Ejection | null {
    this.#inFlight.set(target.id, Math.max(0, (this.#inFlight.get(target.id) ?? 1) - 1));
    return this.report(target, outcome);
  }

  /** Feeds outlier detection without in-flight accounting (for callers that only pick). */
  report(target: Target, outcome: Outcome): Ejection | null {
    if (outcome === 'client') return null;
    const state = this.#state(target.name);
    if (outcome === 'ok') {
      state.outliers.success(target.id);
      return null;
    }
    const ejection = state.outliers.failure(target.id, this.clock.now(), this.registry.passing(target.name).length);
    if (ejection !== null) for (const listener of this.#ejectionListeners) listener(target.name, ejection);
    return ejection;
  }

  onEjection(listener: (name: string, ejection: Ejection) => void): () => void {
    this.#ejectionListeners.add(listener);
    return () => this.#ejectionListeners.delete(listener);
  }

  inFlight(id: string): number {
    return this.#inFlight.get(id) ?? 0;
  }

  ejection(name: string, id: string): { ejected: boolean; ejectedUntil: number; ejections: number } {
    const state = this.#state(name);
    const s = state.outliers.state(id);
    return { ejected: s.ejectedUntil > this.clock.now(), ...s };
  }

  #state(name: string): ServiceState {
    let state = this.#services.get(name);
    const policy = this.registry.policy(name).outlier;
    if (state === undefined) {
      state = { rr: -1, wrr: new Map(), ring: null, outliers: new OutlierDetector(policy) };
      this.#services.set(name, state);
    } else if (state.outliers.policy !== policy) {
      state.outliers.policy = policy;
    }
    return state;
  }

  #ring(state: ServiceState, candidates: readonly Target[]): HashRing<Target> {
    const signature = candidates.map((c) => `${c.id}:${c.weight}`).join(',');
    if (state.ring?.signature !== signature) state.ring = { signature, ring: new HashRing(candidates) };
    return state.ring.ring;
  }
}

/**
 * nginx's smooth weighted round-robin: every pick adds each instance's weight to its score, takes
 * the highest, and takes the total off the winner. Weights 5:1:1 give a a b a c a a, not a×5 in a row.
 */
function smoothWeighted(scores: Map<string, number>, candidates: readonly Target[]): Target {
  let total = 0;
  let best: Target | null = null;
  let bestScore = -Infinity;
  for (const c of candidates) {
    const score = (scores.get(c.id) ?? 0) + c.weight;
    scores.set(c.id, score);
    total += c.weight;
    if (score > bestScore) {
      bestScore = score;
      best = c;
    }
  }
  const winner = best as Target;
  scores.set(winner.id, bestScore - total);
  if (scores.size > candidates.length * 2) for (const id of scores.keys()) if (!candidates.some((c) => c.id === id)) scores.delete(id);
  return winner;
}
