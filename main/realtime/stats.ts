import type { Static } from '@sinclair/typebox';
import type { RealtimeStatsSchema } from '../../contract/ops/realtime';

export type RealtimeStats = Static<typeof RealtimeStatsSchema>;
