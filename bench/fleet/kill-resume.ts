import { performance } from 'node:perf_hooks';
import type { FleetNode } from '../../test/fleet/helpers';
import { RawClient } from '../../test/realtime/helpers';
import { progress } from '../lib';

/** What one kill of a node did to the clients it held. */
export interface KillResumeRound {
  /** Seconds from the kill until the last client's resume was answered on another node. */
  readonly seconds: number;
  readonly clients: number;
  /** Offsets a client never received and was never told about (no `gap` frame). */
  readonly unsignalledLosses: number;
  /** Offsets a client received twice. */
  readonly duplicates: number;
  /** Losses the server said out loud (`gap` frames): allowed, counted apart. */
  readonly signalledGaps: number;
}

interface Position {
  epoch: string;
  offset: number;
}

/** One subscriber: follows the room's offsets and checks each message against the last one it had. */
class Follower {
  position: Position = { epoch: '', offset: 0 };
  losses = 0;
  duplicates = 0;
  gaps = 0;
  client: RawClient | null = null;

  attach(client: RawClient): void {
    this.client = client;
    client.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; epoch?: string; offset?: number; position?: Position };
      if (frame.type === 'gap' && frame.position !== undefined) {
        this.gaps += 1;
        this.position = { ...frame.position };
      } else if (frame.type === 'message' && typeof frame.offset === 'number') {
        if (frame.epoch !== this.position.epoch && this.position.epoch !== '') this.losses += 1;
        else if (frame.offset <= this.position.offset) this.duplicates += 1;
        else this.losses += frame.offset - this.position.offset - 1;
        this.position = { epoch: frame.epoch ?? this.position.epoch, offset: Math.max(frame.offset, this.position.offset) };
      }
    });
  }
}

/**
 * fleet.kill-resume: `count` clients subscribed on `victim` while a publisher on `others[0]` keeps
 * the room busy; the victim is killed with -9, every client reconnects to one of `others` (in turn)
 * and resumes from the last offset it had. Then the publisher stops and every client must reach its
 * last offset: each offset once, or a `gap` frame saying what was lost.
 */
export async function killResume(victim: FleetNode, others: readonly FleetNode[], count: number): Promise<KillResumeRound> {
  const room = `bench-kill-${Date.now()}`;
  const [home] = others as [FleetNode];
  const followers = Array.from({ length: count }, () => new Follower());
  for (let i = 0; i < count; i += 50)
    await Promise.all(
      followers.slice(i, i + 50).map(async (f) => {
        const client = await RawClient.connect(victim.wsUrl, victim.adminKey);
        f.attach(client);
        const reply = await client.request({ type: 'subscribe', room });
        f.position = { ...(reply.result.position as Position) };
      }),
    );
  const publisher = await RawClient.connect(home.wsUrl, home.adminKey);
  let last: Position = { epoch: '', offset: 0 };
  let publishing = true;
  const publishes = (async () => {
    for (let i = 0; publishing; i += 1) {
      const reply = await publisher.request({ type: 'publish', room, data: { i } });
      if (reply.type === 'reply' && reply.result.position !== undefined) last = reply.result.position as Position;
      // 50 messages/s: half the per-connection publish limit.
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  while (last.offset < 20) await new Promise((r) => setTimeout(r, 20));

  progress(`fleet.kill-resume: kill -9 ${victim.name} with ${count} clients`);
  const killedAt = performance.now();
  await victim.kill();
  const resumedAt = await Promise.all(
    followers.map(async (f, i) => {
      await f.client?.closed;
      const target = others[i % others.length] as FleetNode;
      for (;;) {
        try {
          const client = await RawClient.connect(target.wsUrl, target.adminKey);
          f.attach(client);
          const reply = await client.request({ type: 'subscribe', room, since: f.position }, 15_000);
          if (reply.type === 'reply') return performance.now();
          client.close();
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }),
  );
  const seconds = (Math.max(...resumedAt) - killedAt) / 1000;
  publishing = false;
  await publishes;
  const deadline = Date.now() + 15_000;
  while (followers.some((f) => f.position.offset < last.offset) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // A client that never reached the last offset lost the rest without being told.
  const shortfall = followers.reduce((n, f) => n + Math.max(0, last.offset - f.position.offset), 0);
  for (const f of followers) f.client?.close();
  publisher.close();
  return {
    seconds,
    clients: count,
    unsignalledLosses: followers.reduce((n, f) => n + f.losses, 0) + shortfall,
    duplicates: followers.reduce((n, f) => n + f.duplicates, 0),
    signalledGaps: followers.reduce((n, f) => n + f.gaps, 0),
  };
}
