export * from './frames';
export {
  RealtimeClient,
  RealtimeError,
  type RealtimeClientOptions,
  type SubscribeResult,
  type WebSocketFactory,
  type WebSocketLike,
} from './realtime-client';
