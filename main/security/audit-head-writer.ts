import type { Service, ServiceState } from '../service';
import type { AuditLog } from './audit-log';
import { DATA_DIR } from '../core';

/** The file, in the data directory, that holds the signed audit chain head. */
export const AUDIT_HEAD_FILE = DATA_DIR.auditHead;

/**
 * Writes the audit chain head out of the database every `intervalMs` (when it moved) and once more at
 * stop, so at most the rows of the last interval could be cut from the end unseen.
 */
export class AuditHeadWriter implements Service {
  readonly name = 'audit';
  #timer: NodeJS.Timeout | null = null;
  #state: ServiceState = 'idle';
  #failure: string | null = null;

  constructor(
    private readonly audit: AuditLog,
    private readonly intervalMs: number,
  ) {}

  async start(): Promise<void> {
    this.#timer = setInterval(() => this.#write(), this.intervalMs);
    this.#timer.unref();
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#write();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state === 'running' && this.#failure !== null)
      return { state: 'degraded', detail: `audit head not written: ${this.#failure}` };
    return { state: this.#state };
  }

  #write(): void {
    try {
      this.audit.writeHead();
      this.#failure = null;
    } catch (err) {
      this.#failure = (err as NodeJS.ErrnoException).code ?? 'error';
    }
  }
}
