export { LiveProgress } from './live-progress';
export { realtimeMigrations } from './migrations';
export { realtimeHandlers } from './operations';
export { defaultRoomRules, hubOptions, withRoomRules, type HubOptions, type RoomRuleSetting } from './options';
export { RealtimeHub } from './realtime-hub';
