import type { RealtimeHub } from './realtime-hub';

export type ProgressTopic = 'job.progress' | 'backup.progress' | 'service.health' | 'cache.stats';

/**
 * The one small interface other capabilities use to report progress: `publish('job.progress',
 * jobId, {...})` goes to room `progress:job.progress` in the low lane, keyed by `jobId`, so a slow
 * client gets the latest value per job rather than every step.
 */
export class LiveProgress {
  constructor(private readonly hub: Pick<RealtimeHub, 'publishAsServer'>) {}

  publish(topic: ProgressTopic, key: string, payload: Record<string, unknown>): void {
    void this.hub.publishAsServer(`progress:${topic}`, { key, ...payload }, `${topic}:${key}`).catch(() => undefined);
  }

  static room(topic: ProgressTopic): string {
    return `progress:${topic}`;
  }
}
