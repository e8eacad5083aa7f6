import type { TSchema } from '@sinclair/typebox';
import * as backup from '../../contract/ops/backup';
import * as cache from '../../contract/ops/cache';
import * as discovery from '../../contract/ops/discovery';
import * as graphql from '../../contract/ops/graphql';
import * as jobs from '../../contract/ops/jobs';
import * as monitoring from '../../contract/ops/monitoring';
import * as ratelimit from '../../contract/ops/ratelimit';
import * as realtime from '../../contract/ops/realtime';
import * as sagas from '../../contract/ops/sagas';
import * as security from '../../contract/ops/security';
import * as system from '../../contract/ops/system';
import * as webhooks from '../../contract/ops/webhooks';
import { pascal } from './type-mapper';

const modules = { system, security, backup, monitoring, discovery, jobs, cache, realtime, webhooks, ratelimit, graphql, sagas };

/**
 * The contract's exported schema constants by their JSON, named without `Schema` (`JobInfoSchema` →
 * `JobInfo`): the stable names of the GraphQL types. A name two modules both export is prefixed
 * with its capability, so neither depends on the order of the files.
 */
export function exportedNames(): Map<string, string> {
  const found: { name: string; module: string; key: string }[] = [];
  for (const [module, exports] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(exports as Record<string, unknown>)) {
      if (!name.endsWith('Schema') || typeof value !== 'object' || value === null) continue;
      found.push({ name: name.slice(0, -'Schema'.length), module, key: JSON.stringify(value as TSchema) });
    }
  }
  const shapes = new Map<string, Set<string>>();
  for (const { name, key } of found) shapes.set(name, (shapes.get(name) ?? new Set()).add(key));
  const names = new Map<string, string>();
  for (const { name, module, key } of found) {
    if (!names.has(key)) names.set(key, (shapes.get(name)?.size ?? 0) > 1 ? `${pascal(module)}${name}` : name);
  }
  return names;
}
