import type { Logger } from '../logger';
import { messageOf } from './backup-faults';
import type { BackupScheduler } from './backup-schedules';
import type { SourceRecord } from './catalogue';

/**
 * Keeps when snapshots and maintenance run in step with the catalogue: each source's schedule and
 * this node's maintenance as the job queue's repeating jobs (once `useScheduler` hands it the
 * queue), and continuous mode as interval timers of this node.
 */
export class ScheduleSync {
  readonly #intervals = new Map<string, NodeJS.Timeout>();
  #scheduler: BackupScheduler | null = null;

  constructor(
    private readonly options: {
      readonly logger: Logger;
      /** The configured maintenance cron (undefined: the default; null: none). */
      readonly maintenanceSchedule: string | null | undefined;
      /** A continuous-mode interval of `sourceId` came round. */
      readonly continuous: (sourceId: string) => void;
    },
  ) {}

  get maintenanceSchedule(): string | null {
    return this.options.maintenanceSchedule === undefined ? '15 4 * * *' : this.options.maintenanceSchedule;
  }

  /** The queue's scheduler takes over: every source's repeating snapshot is set to what the catalogue says. */
  useScheduler(scheduler: BackupScheduler, sources: readonly SourceRecord[]): void {
    this.#scheduler = scheduler;
    this.syncAll(sources);
  }

  /** Sets every repeating job again (sources' and maintenance), e.g. after Redis came back empty and took them with it. */
  syncAll(sources: readonly SourceRecord[]): void {
    for (const s of sources) this.setSchedule(s.id, s.schedule);
    this.#track('maintenance', (scheduler) => scheduler.setMaintenance(this.maintenanceSchedule));
  }

  setSchedule(sourceId: string, cron: string | null): void {
    this.#track(sourceId, (scheduler) => scheduler.set(sourceId, cron));
  }

  /** Not awaited by stop(): a queue call held up by a hung Redis must not hold up shutdown; the next sync repeats it. */
  #track(what: string, change: (scheduler: BackupScheduler) => Promise<void>): void {
    const scheduler = this.#scheduler;
    if (scheduler === null) return;
    change(scheduler).catch((err: unknown) => this.options.logger.warn({ err: messageOf(err), what }, 'backup schedule not updated'));
  }

  /** Continuous mode is an interval, not a calendar: it stays a timer of this node's. */
  arm(s: SourceRecord): void {
    this.disarm(s.id);
    if (s.continuousSeconds !== null) {
      const timer = setInterval(() => this.options.continuous(s.id), s.continuousSeconds * 1000);
      timer.unref();
      this.#intervals.set(s.id, timer);
    }
  }

  disarm(sourceId: string): void {
    clearInterval(this.#intervals.get(sourceId));
    this.#intervals.delete(sourceId);
  }

  /** Stops every continuous timer (the queue's repeating jobs stay: they belong to the fleet's queue). */
  stop(): void {
    for (const t of this.#intervals.values()) clearInterval(t);
    this.#intervals.clear();
  }
}
