import type { HandlersFor } from '../core';
import { withRedisDeadline } from '../redis';
import type { RealtimeHub } from './realtime-hub';

export function realtimeHandlers(
  hub: RealtimeHub,
): HandlersFor<'realtime.stats' | 'realtime.presence' | 'realtime.history' | 'realtime.publish'> {
  return {
    'realtime.stats': () => hub.stats(),
    'realtime.presence': async (input, caller) => {
      hub.policy.assertSubscribe(caller, input.room);
      return { room: input.room, members: await withRedisDeadline(hub.backplane.presenceList(input.room), 'realtime.presence') };
    },
    'realtime.history': async (input, caller) => {
      const rule = hub.policy.assertSubscribe(caller, input.room);
      if (!rule.history)
        return {
          room: input.room,
          position: await withRedisDeadline(hub.backplane.position(input.room), 'realtime.history'),
          messages: [],
        };
      const read = await withRedisDeadline(
        hub.backplane.read(input.room, undefined, input.limit ?? 50, hub.options.historyMaxAgeMs),
        'realtime.history',
      );
      const messages = read.frames.map((f) => {
        const m = JSON.parse(f.frame) as {
          mid: string;
          room: string;
          epoch: string;
          offset: number;
          lane: string;
          from: string;
          at: number;
          data: unknown;
        };
        return { mid: m.mid, room: m.room, epoch: m.epoch, offset: m.offset, lane: m.lane, from: m.from, at: m.at, data: m.data };
      });
      return { room: input.room, position: read.position, messages };
    },
    // The hub bounds the wait for a hung Redis (503 PH_REALTIME_UNAVAILABLE), for the socket's publishes too.
    'realtime.publish': (input, caller) => hub.publish(input.room, input.data, { caller }),
  };
}
