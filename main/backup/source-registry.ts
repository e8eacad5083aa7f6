import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { PhError } from '../../contract/errors';
import { newId } from '../fleet';
import type { BackupParts, BackupServiceOptions } from './backup-options';
import { validateSchedule } from './backup-schedules';
import { probeSource } from './capture';
import type { BackupCatalogue, SourceRecord } from './catalogue';
import { parseDuration } from './retention';
import type { Retention } from './types';

export const APP_SOURCE_ID = 'app';

export interface NewSource {
  name: string;
  path: string;
  schedule?: string | null;
  retention?: Retention;
  continuousSeconds?: number | null;
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** The app's own database is always a source; its schedule and retention come from the options the first time. */
export function ensureAppSource(catalogue: BackupCatalogue, options: BackupServiceOptions): void {
  if (catalogue.source(APP_SOURCE_ID) !== undefined) return;
  const schedule = options.appSchedule === undefined ? '0 3 * * *' : options.appSchedule;
  validateSchedule(schedule);
  catalogue.insertSource({
    id: APP_SOURCE_ID,
    name: 'Pilothouse database',
    path: options.appDbPath,
    kind: 'app',
    schedule,
    retention: options.appRetention ?? { keepDaily: 7, keepWeekly: 4 },
    continuousSeconds: null,
    createdAt: options.clock.now(),
  });
}

/** Checks everything first (path, SQLite, lock, schedule, retention), then records it in one statement; returns its id. */
export function insertNewSource({ catalogue, paths, options }: BackupParts, input: NewSource): string {
  const path = paths.source(input.path);
  const name = input.name.trim();
  validateSchedule(input.schedule);
  if (input.retention?.keepWithin !== undefined) parseDuration(input.retention.keepWithin);
  if (catalogue.sourceByNameOrPath(name, path) !== undefined) {
    throw new PhError('PH_BACKUP_SOURCE_EXISTS', `A source named ${JSON.stringify(name)} or at ${path} is already registered`);
  }
  if (path === realpathOr(options.appDbPath))
    throw new PhError('PH_BACKUP_SOURCE_EXISTS', 'The Pilothouse database is already the "app" source');
  probeSource(path, options.busyTimeoutMs ?? 5000);
  const id = `src-${newId()}`;
  try {
    catalogue.insertSource({
      id,
      name,
      path,
      kind: 'file',
      schedule: input.schedule ?? null,
      retention: input.retention ?? {},
      continuousSeconds: input.continuousSeconds ?? null,
      createdAt: options.clock.now(),
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
      throw new PhError('PH_BACKUP_SOURCE_EXISTS', undefined, { cause: err });
    throw err;
  }
  return id;
}

export interface SourceChange {
  readonly id: string;
  readonly schedule?: string | null;
  readonly retention?: Retention;
  readonly continuousSeconds?: number | null;
}

/** Checks the new schedule and retention, then records the change over `s`; a field not given stays as it was. */
export function applySourceChange(catalogue: BackupCatalogue, s: SourceRecord, input: SourceChange): void {
  validateSchedule(input.schedule);
  if (input.retention?.keepWithin !== undefined) parseDuration(input.retention.keepWithin);
  catalogue.updateSource(s.id, {
    schedule: input.schedule === undefined ? s.schedule : input.schedule,
    retention: input.retention ?? s.retention,
    continuousSeconds: input.continuousSeconds === undefined ? s.continuousSeconds : input.continuousSeconds,
  });
}
