/** The migrations the store opens with, every capability's. */
import { backupMigrations } from '../backup';
import { batchMigrations } from '../batch';
import { cacheMigrations } from '../cache';
import { discoveryMigrations } from '../discovery';
import { fleetMigrations } from '../fleet';
import { graphqlMigrations } from '../graphql';
import { monitoringMigrations } from '../monitoring';
import { ratelimitMigrations } from '../ratelimit';
import { realtimeMigrations } from '../realtime';
import { sagaMigrations } from '../sagas';
import { securityMigrations } from '../security';
import type { Migration } from '../store';
import { webhooksMigrations } from '../webhooks';

/** Every capability's migrations, in the order their scopes were introduced (also what `admin-key --reset` opens the store with). */
export const migrations: readonly Migration[] = [
  ...securityMigrations,
  ...monitoringMigrations,
  ...discoveryMigrations,
  ...batchMigrations,
  ...cacheMigrations,
  ...realtimeMigrations,
  ...backupMigrations,
  ...fleetMigrations,
  ...webhooksMigrations,
  ...ratelimitMigrations,
  ...graphqlMigrations,
  ...sagaMigrations,
];
