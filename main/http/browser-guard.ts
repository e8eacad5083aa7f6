import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { PhError } from '../../contract/errors';

/**
 * The console's policy, sent as a header with every page: only our own scripts and styles, no
 * inline code, API and socket calls to this origin only (CSP 3 `'self'` covers ws/wss of it), and
 * never inside another site's frame.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * What the gateway's answers get on top of the upstream's own policy: they are an upstream's pages
 * served from this node's origin, and script there (inline, or loaded from another /gw path, which
 * is 'self') could read the console's session token. The sandbox gives them an opaque origin.
 */
export const GATEWAY_CSP = "sandbox allow-scripts allow-forms allow-popups allow-downloads; frame-ancestors 'none'";

/** Headers on every response: no framing (for browsers without frame-ancestors), no Referer leaks, no sniffing. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

const HOST_ANSWERS_MAX = 256;

export interface BrowserGuardOptions {
  /** The address the server binds (`--host`). */
  readonly bindHost: string;
  /** `--public-name`s: the names browsers on the LAN use for this node. */
  readonly publicNames: readonly string[];
  /** Whether the server speaks TLS, for the same-origin comparison. */
  readonly secure: boolean;
}

/**
 * Stops what a web page in the operator's browser could do to this node. DNS rebinding (a name the
 * attacker controls, re-pointed at 127.0.0.1) shows as a Host header that is not ours: refused with
 * 421. A page on another origin calling the API or opening /ws shows as its Origin: refused with
 * 403. Programs that are not browsers send no Origin and pass.
 */
export class BrowserGuard {
  readonly #names: ReadonlySet<string>;
  readonly #wildcard: boolean;
  /**
   * The answer for each Host header seen: every request asks, nearly always with the same few
   * values, and the answer for a name never changes (the names are fixed at start). Cleared when
   * full, so a client sending many Hosts cannot grow it.
   */
  readonly #answers = new Map<string, boolean>();

  constructor(private readonly options: BrowserGuardOptions) {
    const bind = bareHost(options.bindHost);
    this.#wildcard = bind === '0.0.0.0' || bind === '::';
    const names = ['localhost', bind, ...options.publicNames.map((n) => n.toLowerCase().replace(/\.$/, ''))];
    // On the LAN, programs reach the node by the machine's name and its mDNS name: a web page cannot
    // take those over without first spoofing name resolution on the LAN itself.
    const lan = !isLoopbackName(bind);
    if (lan) names.push(hostname().toLowerCase(), `${hostname().toLowerCase()}.local`);
    this.#names = new Set(names);
  }

  /** The refusal for a request, or null when it may go on. */
  check(headers: IncomingHttpHeaders): PhError | null {
    const host = headers.host;
    // HTTP/1.1 requires Host (Node refuses a request without it); an HTTP/1.0 client is no browser.
    if (host !== undefined && !this.hostAllowed(host))
      return new PhError('PH_MISDIRECTED', 'This node does not answer to that host name; add it with --public-name');
    const origin = headers.origin;
    if (origin !== undefined && !this.#sameOrigin(origin, host))
      return new PhError('PH_ORIGIN_FORBIDDEN', 'Requests from another web origin are not accepted');
    return null;
  }

  hostAllowed(hostHeader: string): boolean {
    const known = this.#answers.get(hostHeader);
    if (known !== undefined) return known;
    const name = bareHost(hostHeader);
    let allowed: boolean;
    if (name === '' || this.#names.has(name)) allowed = true;
    else {
      const family = isIP(name);
      if (family === 0) allowed = false;
      else if (family === 4 ? name.startsWith('127.') : name === '::1') allowed = true;
      // Bound to every interface: an address of this machine is ours. An address cannot be rebound, a name can.
      // Not remembered: the interfaces' addresses change (DHCP), so this is asked each time.
      else return this.#wildcard && localAddresses().has(name);
    }
    if (this.#answers.size >= HOST_ANSWERS_MAX) this.#answers.clear();
    this.#answers.set(hostHeader, allowed);
    return allowed;
  }

  #sameOrigin(origin: string, host: string | undefined): boolean {
    if (host === undefined || !URL.canParse(origin)) return false;
    const parsed = new URL(origin);
    if (parsed.protocol !== (this.options.secure ? 'https:' : 'http:') || !URL.canParse(`${parsed.protocol}//${host}`)) return false;
    return parsed.host === new URL(`${parsed.protocol}//${host}`).host;
  }
}

/** `Host: [::1]:7420` → `::1`; `Example.LAN.:7420` → `example.lan`. */
function bareHost(value: string): string {
  const text = value.trim().toLowerCase();
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (v6 !== null) return v6[1] as string;
  if (isIP(text) === 6) return text;
  return text.replace(/:\d+$/, '').replace(/\.$/, '');
}

function isLoopbackName(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const entry of list ?? []) out.add(entry.address.toLowerCase());
  return out;
}
