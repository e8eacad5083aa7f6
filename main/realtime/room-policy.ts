import { PhError } from '../../contract/errors';
import { roleAllows } from '../../contract/roles';
import { callerHasScope, type Caller } from '../core';
import type { RoomRule } from './options';

const ROOM_NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** Who may subscribe to and publish in a room, by role and key scope, from prefix rules. */
export class RoomPolicy {
  readonly #rules: readonly RoomRule[];

  constructor(rules: readonly RoomRule[]) {
    // Longest prefix first, so the most specific rule wins.
    this.#rules = [...rules].sort((a, b) => b.prefix.length - a.prefix.length);
    if (!this.#rules.some((r) => r.prefix === '')) throw new Error('Room rules need a default rule with prefix ""');
  }

  static validName(room: unknown): room is string {
    return typeof room === 'string' && ROOM_NAME.test(room);
  }

  rule(room: string): RoomRule {
    return this.#rules.find((r) => room.startsWith(r.prefix)) as RoomRule;
  }

  assertSubscribe(caller: Caller, room: string): RoomRule {
    const rule = this.#checkName(room);
    check(caller, room, rule.subscribeRole, rule.subscribeScope, 'subscribe to');
    return rule;
  }

  assertPublish(caller: Caller, room: string): RoomRule {
    const rule = this.#checkName(room);
    check(caller, room, rule.publishRole, rule.publishScope, 'publish to');
    return rule;
  }

  #checkName(room: string): RoomRule {
    if (!RoomPolicy.validName(room)) {
      throw new PhError('PH_INVALID_INPUT', 'Room names are 1-128 characters of letters, digits and _ . : @ -', { field: 'room' });
    }
    return this.rule(room);
  }
}

function check(caller: Caller, room: string, role: RoomRule['subscribeRole'], scope: string | undefined, verb: string): void {
  if (role === 'none') throw new PhError('PH_REALTIME_FORBIDDEN', `Only Pilothouse may ${verb} ${room}`);
  if (!roleAllows(caller.role, role))
    throw new PhError('PH_REALTIME_FORBIDDEN', `To ${verb} ${room} needs the ${role} role; this key is ${caller.role}`);
  if (scope !== undefined && !callerHasScope(caller, scope))
    throw new PhError('PH_REALTIME_FORBIDDEN', `To ${verb} ${room} needs the scope ${scope}`);
}
