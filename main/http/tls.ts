import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PhError } from '../../contract/errors';
import { DATA_DIR } from '../core';

/** How the server speaks, decided from the config alone (see `tlsMode`). */
export type TlsMode = { kind: 'files'; certFile: string; keyFile: string } | { kind: 'self-signed' } | { kind: 'none' };

export interface TlsSettings {
  readonly lanAccess: boolean;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsSelfSigned?: boolean;
  readonly insecureLan?: boolean;
}

/** The certificate the server presents, and what operators compare when they pin it. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 of the DER certificate, `AB:CD:...`, as browsers and `openssl x509 -fingerprint -sha256` show it. */
  readonly fingerprint256: string;
  readonly selfSigned: boolean;
  readonly certFile: string;
  readonly validTo: string;
}

/**
 * The operator's certificate when given; otherwise on the LAN a self-signed one (keys and session
 * tokens must not cross a network in clear text), unless the operator says `--insecure-lan`.
 */
export function tlsMode(settings: TlsSettings): TlsMode {
  if (settings.tlsCert !== undefined && settings.tlsKey !== undefined)
    return { kind: 'files', certFile: settings.tlsCert, keyFile: settings.tlsKey };
  if (settings.tlsSelfSigned === true) return { kind: 'self-signed' };
  if (settings.lanAccess && settings.insecureLan !== true) return { kind: 'self-signed' };
  return { kind: 'none' };
}

/** Renewed when it has less than this left, so a node never starts with a certificate about to lapse. */
const RENEW_BEFORE_MS = 7 * 86_400_000;
const VALID_DAYS = 825;

/**
 * Loads the certificate the mode names, making the self-signed one on first start: kept in
 * `<dataDir>/tls/` (folder 0700, key 0600) and reused on every start, so its fingerprint stays
 * the one clients pinned until it nears expiry.
 */
export async function loadTls(
  mode: TlsMode,
  dataDir: string,
  names: { readonly bindHost: string; readonly publicNames: readonly string[] },
  now: number = Date.now(),
): Promise<TlsMaterial | null> {
  if (mode.kind === 'none') return null;
  if (mode.kind === 'files') {
    const cert = readPem(mode.certFile, 'tlsCert');
    const key = readPem(mode.keyFile, 'tlsKey');
    return material(cert, key, mode.certFile, false);
  }
  const dir = join(dataDir, DATA_DIR.tls);
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  if (existsSync(certFile) && existsSync(keyFile)) {
    const kept = material(readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8'), certFile, true);
    if (Date.parse(kept.validTo) - now > RENEW_BEFORE_MS) {
      chmodSync(keyFile, 0o600);
      return kept;
    }
  }
  // Loaded only when a certificate is made (once per node): it is a tenth of the app's start.
  const { generate } = await import('selfsigned');
  const made = await generate([{ name: 'commonName', value: `Pilothouse on ${hostname()}` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + VALID_DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: altNames(names) },
    ],
  });
  // Key first, then the certificate, each by rename: a crash leaves the old pair or a key without a
  // certificate, which the next start replaces.
  writeAtomically(keyFile, made.private, 0o600);
  writeAtomically(certFile, made.cert, 0o644);
  return material(made.cert, made.private, certFile, true);
}

function altNames(names: { bindHost: string; publicNames: readonly string[] }) {
  const dns = new Set(['localhost', hostname().toLowerCase(), ...names.publicNames.map((n) => n.toLowerCase())]);
  const ips = new Set(['127.0.0.1', '::1']);
  if (isIP(names.bindHost) !== 0 && names.bindHost !== '0.0.0.0' && names.bindHost !== '::') ips.add(names.bindHost);
  else if (isIP(names.bindHost) === 0) dns.add(names.bindHost.toLowerCase());
  return [...[...dns].map((value) => ({ type: 2 as const, value })), ...[...ips].map((ip) => ({ type: 7 as const, ip }))];
}

function readPem(path: string, field: 'tlsCert' | 'tlsKey'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new PhError('PH_TLS_INVALID', `Cannot read ${field} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { field });
  }
}

function material(cert: string, key: string, certFile: string, selfSigned: boolean): TlsMaterial {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new PhError('PH_TLS_INVALID', `${certFile} is not a PEM certificate`, { field: 'tlsCert' });
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new PhError('PH_TLS_INVALID', 'The TLS key is not a PEM private key (an encrypted key is not supported)', { field: 'tlsKey' });
  }
  if (!matches) throw new PhError('PH_TLS_INVALID', `The TLS key does not belong to the certificate ${certFile}`, { field: 'tlsKey' });
  return { cert, key, fingerprint256: x509.fingerprint256, selfSigned, certFile, validTo: new Date(x509.validTo).toISOString() };
}

function writeAtomically(path: string, text: string, mode: number): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode });
  chmodSync(temp, mode);
  renameSync(temp, path);
}
