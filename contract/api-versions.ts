import { apiVersions, type ApiVersion } from './versions';

/** The REST API's versions, oldest first, as contract/versions/ declares them. */
export { apiVersions, type ApiVersion } from './versions';
export const latestApiVersion = apiVersions[apiVersions.length - 1] as ApiVersion;
