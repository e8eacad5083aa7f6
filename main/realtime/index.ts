export { LiveProgress, type ProgressTopic } from './live-progress';
export { realtimeMigrations } from './migrations';
export { realtimeHandlers } from './operations';
export { defaultHubOptions, defaultRoomRules, type HubOptions, type RoomRule } from './options';
export { REALTIME_PATH, RealtimeHub, type RealtimeHubDeps } from './realtime-hub';
export type { RealtimeStats } from './stats';
