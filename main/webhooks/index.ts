export { webhooksMigrations } from './migrations';
export { WebhookService, type WebhookDeps } from './webhook-service';
export { webhooksHandlers } from './operations';
export { defaultWebhookOptions, fullJitterDelay, type WebhookOptions } from './options';
export { FileSecretStore, type StoredSecret, type WebhookSecretStore } from './secret-store';
export { newWebhookSecret, signatureFor, signedHeaders, verifyWebhook } from './signing';
export { webhookReach, type WebhookReachOptions } from './target-allow-list';
export { DELIVER_JOB } from './deliverer';
