import { randomBytes } from 'node:crypto';
import { PhError } from '../../contract/errors';
import { roleAllows } from '../../contract/roles';
import type { Caller } from '../core';
import type { Backplane, RoomDraft } from './backplane';
import type { Lane, Position, PublishFrame } from '../../contract/realtime-frames';
import type { HubTotals } from './hub-stats';
import type { RoomPolicy } from './room-policy';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/**
 * Publishing: numbers each message (`<node>.<start>.<counter>`), builds its frame once for every
 * recipient, and hands it to the backplane, which stores room messages (when the room keeps
 * history) and fans them out on every node. A backplane that does not answer within `deadlineMs`
 * (a hung Redis) fails the publish with `PH_REALTIME_UNAVAILABLE` rather than holding the caller.
 */
export class HubPublisher {
  /** The counter restarts with the process: a random part per start keeps a mid from naming two messages. */
  readonly #midPrefix: string;
  #midCounter = 0;

  constructor(
    node: string,
    private readonly backplane: Backplane,
    private readonly policy: RoomPolicy,
    private readonly now: () => number,
    private readonly totals: HubTotals,
    private readonly deadlineMs: number,
  ) {
    this.#midPrefix = `${node}.${randomBytes(4).toString('hex')}.`;
  }

  /** A client's `publish` frame: to one room (its rules), one user (operator) or everyone (admin). */
  async publishFrame(caller: Caller, from: string, frame: PublishFrame): Promise<{ mid: string; position?: Position }> {
    const targets = (frame.room !== undefined ? 1 : 0) + (frame.user !== undefined ? 1 : 0) + (frame.all === true ? 1 : 0);
    if (targets !== 1) throw new PhError('PH_INVALID_INPUT', 'Publish to exactly one of room, user or all', { field: 'room' });
    if (frame.room !== undefined) {
      return this.publish(frame.room, frame.data, { caller, from, ack: frame.ack ?? false, key: frame.key });
    }
    if (!roleAllows(caller.role, frame.all === true ? 'admin' : 'operator')) {
      throw new PhError(
        'PH_REALTIME_FORBIDDEN',
        frame.all === true ? 'Broadcasting to everyone needs the admin role' : 'Messaging a user needs the operator role',
      );
    }
    const mid = this.#nextMid();
    const lane = frame.lane ?? 'normal';
    const data = json({
      type: 'message',
      mid,
      lane,
      from,
      at: this.now(),
      ...(frame.ack === true ? { ack: true } : {}),
      ...(frame.key === undefined ? {} : { key: frame.key }),
      data: frame.data,
    });
    await this.#answered(
      this.backplane.publishDirect(frame.all === true ? 'all' : 'user', frame.user ?? '', {
        lane,
        ack: frame.ack ?? false,
        mid,
        key: frame.key ?? '',
        frame: data,
      }),
    );
    this.totals.published += 1;
    return { mid };
  }

  /**
   * Publishes to a room: checks the caller may, numbers and stores the message (when the room keeps
   * history) and fans it out on every node. Resolves once stored: an acknowledged publication
   * survives the death of this node.
   */
  async publish(
    room: string,
    data: unknown,
    options: { caller: Caller; from?: string; ack?: boolean; key?: string },
  ): Promise<{ mid: string; position: Position }> {
    const rule = this.policy.assertPublish(options.caller, room);
    return this.#publishRoom(room, data, rule.lane, rule.history, options.from ?? options.caller.actor, options.ack ?? false, options.key);
  }

  /** Server-side publish that skips room permissions (progress, system rooms). */
  publishAsServer(room: string, data: unknown, key?: string): Promise<{ mid: string; position: Position }> {
    const rule = this.policy.rule(room);
    return this.#publishRoom(room, data, rule.lane, rule.history, 'system', false, key);
  }

  async #publishRoom(
    room: string,
    data: unknown,
    lane: Lane,
    history: boolean,
    from: string,
    ack: boolean,
    key: string | undefined,
  ): Promise<{ mid: string; position: Position }> {
    const mid = this.#nextMid();
    const at = this.now();
    const draft: RoomDraft = {
      mid,
      lane,
      ack,
      key: key ?? '',
      at,
      head: `{"type":"message","mid":${JSON.stringify(mid)},"room":${JSON.stringify(room)},"lane":"${lane}","from":${JSON.stringify(from)},"at":${at},${ack ? '"ack":true,' : ''}${key === undefined ? '' : `"key":${JSON.stringify(key)},`}"epoch":"`,
      tail: `,"data":${JSON.stringify(data ?? null)}}`,
    };
    const position = await this.#answered(this.backplane.publishRoom(room, draft, history));
    this.totals.published += 1;
    return { mid, position };
  }

  /** The backplane's answer, or a coded refusal when it fails or (Redis only: memory cannot hang) outlasts the deadline. */
  async #answered<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late =
      this.backplane.kind === 'local'
        ? null
        : new Promise<never>((_resolve, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new PhError(
                    'PH_REALTIME_UNAVAILABLE',
                    `The backplane did not answer within ${this.deadlineMs} ms; the message may still be delivered when it does`,
                  ),
                ),
              this.deadlineMs,
            );
          });
    try {
      return await (late === null ? work : Promise.race([work, late]));
    } catch (err) {
      throw err instanceof PhError
        ? err
        : new PhError('PH_REALTIME_UNAVAILABLE', 'The message was not stored: the backplane did not answer', { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  #nextMid(): string {
    this.#midCounter += 1;
    return `${this.#midPrefix}${this.#midCounter.toString(36)}`;
  }
}
