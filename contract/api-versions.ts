/** The REST API's versions, oldest first; a route declares which of them it is served in. */
export const apiVersions = ['v1', 'v2'] as const;
export type ApiVersion = (typeof apiVersions)[number];
export const latestApiVersion: ApiVersion = 'v2';
