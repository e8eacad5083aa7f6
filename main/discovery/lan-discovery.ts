import { hostname } from 'node:os';
import { Bonjour, type Browser, type Service as MdnsService } from 'bonjour-service';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { Service, ServiceState } from '../service';
import type { LanDiscoveryOptions } from './defaults';
import type { DiscoveredService } from './types';

export interface LanDiscoveryDeps {
  /** LAN access on: without it nothing binds the mDNS port. */
  readonly enabled: boolean;
  readonly version: string;
  /** The embedded server's port, read once it listens. */
  readonly port: () => number;
  readonly options: LanDiscoveryOptions;
  /** This node's id and scheme, announced so other nodes can name it by id (a peer backup replica). */
  readonly node?: { readonly id: string; readonly scheme: () => 'http' | 'https' };
  readonly clock: Clock;
  readonly logger: Logger;
}

interface Found {
  service: DiscoveredService;
  /** The address the announcement came from: where that node answers. */
  from: string | null;
}

/**
 * mDNS/DNS-SD on the LAN (bonjour-service over multicast-dns): announces this node as
 * `_pilothouse._tcp` with its version and port, browses the configured types, asks again every
 * `requeryMs` (so a service announced before we listened answers the query even if its
 * announcement was missed, bonjour-service #9) and drops answers whose TTL ran out. On stop it
 * sends goodbye records (TTL 0) before closing the socket, so other browsers drop us at once.
 * When LAN access is off it does nothing at all: no socket, no port.
 */
export class LanDiscovery implements Service {
  readonly name = 'discovery-lan';
  readonly #found = new Map<string, Found>();
  readonly #adopted = new Map<string, string>();
  #bonjour: Bonjour | null = null;
  #browsers: Browser[] = [];
  #timer: NodeJS.Timeout | null = null;
  #state: ServiceState = 'idle';
  #announcedAs: string | null = null;

  constructor(private readonly deps: LanDiscoveryDeps) {}

  get enabled(): boolean {
    return this.deps.enabled;
  }

  async start(): Promise<void> {
    if (!this.deps.enabled) {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'starting';
    const { options, logger } = this.deps;
    this.#bonjour = new Bonjour({ ...(options.mdns ?? {}) }, (err: Error) => logger.warn({ err: err.message }, 'mDNS error'));
    this.#announcedAs = options.instanceName ?? `Pilothouse on ${hostname()}`;
    this.#bonjour.publish({
      name: this.#announcedAs,
      type: 'pilothouse',
      port: this.deps.port(),
      txt: {
        version: this.deps.version,
        port: String(this.deps.port()),
        ...(this.deps.node === undefined ? {} : { node: this.deps.node.id, scheme: this.deps.node.scheme() }),
      },
    });
    for (const type of options.browseTypes) {
      const browser = this.#bonjour.find({ type });
      browser.on('up', (s) => this.#up(s));
      browser.on('srv-update', (s) => this.#up(s));
      browser.on('txt-update', (s) => this.#up(s));
      browser.on('down', (s) => this.#found.delete(s.fqdn));
      this.#browsers.push(browser);
    }
    this.#timer = setInterval(() => this.requery(), options.requeryMs);
    this.#timer.unref();
    this.#state = 'running';
  }

  /** Asks the LAN again for every browsed type and forgets answers whose TTL ran out. */
  requery(): void {
    for (const browser of this.#browsers) {
      browser.expire();
      browser.update();
    }
  }

  async stop(): Promise<void> {
    if (this.#bonjour === null) return;
    this.#state = 'stopping';
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const browser of this.#browsers) browser.stop();
    this.#browsers = [];
    const bonjour = this.#bonjour;
    this.#bonjour = null;
    // unpublishAll sends the goodbye packet (every record with TTL 0); wait for it before closing.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      bonjour.unpublishAll(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await new Promise<void>((resolve) => bonjour.destroy(() => resolve()));
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (!this.deps.enabled) return { state: 'stopped', detail: 'LAN access is off: no mDNS' };
    return this.#state === 'running' ? { state: 'running', detail: `${this.#found.size} discovered` } : { state: this.#state };
  }

  list(): DiscoveredService[] {
    return [...this.#found.values()]
      .map((f) => ({ ...f.service, adoptedAs: this.#adopted.get(f.service.fqdn) ?? null }))
      .sort((a, b) => a.fqdn.localeCompare(b.fqdn));
  }

  find(fqdn: string): DiscoveredService | undefined {
    const found = this.#found.get(fqdn);
    return found === undefined ? undefined : { ...found.service, adoptedAs: this.#adopted.get(fqdn) ?? null };
  }

  /**
   * The base URL of the Pilothouse node `id` as it announced itself on the LAN (its scheme, the
   * address its announcement came from, its port), or null when no such node answered lately.
   */
  nodeUrl(id: string): string | null {
    for (const f of this.#found.values()) {
      const s = f.service;
      if (s.type !== 'pilothouse' || s.txt.node !== id) continue;
      const address = f.from ?? s.addresses[0];
      if (address === undefined) continue;
      const scheme = s.txt.scheme === 'https' ? 'https' : 'http';
      return `${scheme}://${address.includes(':') ? `[${address}]` : address}:${s.port}`;
    }
    return null;
  }

  markAdopted(fqdn: string, instanceId: string): void {
    this.#adopted.set(fqdn, instanceId);
  }

  #up(s: MdnsService): void {
    if (s.name === this.#announcedAs && s.type === 'pilothouse') return;
    const now = new Date(this.deps.clock.now()).toISOString();
    const previous = this.#found.get(s.fqdn);
    const addresses = [...new Set([...(s.addresses ?? []), ...(s.referer?.address === undefined ? [] : [s.referer.address])])];
    const txt: Record<string, string> = {};
    for (const [k, v] of Object.entries((s.txt ?? {}) as Record<string, unknown>))
      txt[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
    this.#found.set(s.fqdn, {
      service: {
        fqdn: s.fqdn,
        name: s.name,
        type: s.type,
        host: s.host,
        port: s.port,
        addresses,
        txt,
        firstSeenAt: previous?.service.firstSeenAt ?? now,
        lastSeenAt: now,
        adoptedAs: null,
      },
      from: s.referer?.address ?? null,
    });
  }
}
