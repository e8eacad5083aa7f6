import type { Redis } from 'ioredis';

export interface RedisDurability {
  /** true: AOF is on; false: off (a restart loses what was written); null: Redis would not say. */
  readonly durable: boolean | null;
  readonly detail: string;
}

/**
 * Reads whether Redis persists every write (AOF). `CONFIG GET` first; an ACL user without
 * `+config` (or a renamed CONFIG) falls back to `INFO persistence`, which any user may read.
 */
export async function checkRedisDurability(client: Redis): Promise<RedisDurability> {
  let refused = '';
  try {
    const reply = (await client.config('GET', 'appendonly')) as unknown as string[];
    if (Array.isArray(reply) && reply.length >= 2) {
      const on = reply[1] === 'yes';
      return { durable: on, detail: on ? 'appendonly yes' : 'appendonly no: a Redis restart loses queued jobs and fleet state' };
    }
  } catch (err) {
    refused = (err as Error).message;
  }
  try {
    const info = await client.info('persistence');
    const aof = /aof_enabled:(\d)/.exec(info)?.[1];
    if (aof !== undefined) {
      const on = aof === '1';
      const via = refused === '' ? '' : ' (from INFO; CONFIG was refused)';
      return { durable: on, detail: `${on ? 'aof enabled' : 'aof disabled: a Redis restart loses queued jobs and fleet state'}${via}` };
    }
  } catch (err) {
    refused = refused === '' ? (err as Error).message : `${refused}; ${(err as Error).message}`;
  }
  return { durable: null, detail: `Redis did not say whether it persists writes (${refused || 'no aof field'})` };
}
