export { LiveProgress } from './live-progress';
export { realtimeMigrations } from './migrations';
export { realtimeHandlers } from './operations';
export { defaultRoomRules, hubOptions, type HubOptions } from './options';
export { RealtimeHub } from './realtime-hub';
