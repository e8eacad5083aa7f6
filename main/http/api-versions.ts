import { apiVersions, latestApiVersion, type ApiVersion } from '../../contract/api-versions';
import { PhError } from '../../contract/errors';

/** Versions still served but on their way out: RFC 9745 `Deprecation` and RFC 8594 `Sunset`. */
export const deprecatedApiVersions: Partial<Record<ApiVersion, { deprecatedAt: Date; sunsetAt: Date }>> = {
  v1: { deprecatedAt: new Date('2026-11-01T00:00:00Z'), sunsetAt: new Date('2027-06-01T00:00:00Z') },
};

export function isApiVersion(value: string): value is ApiVersion {
  return (apiVersions as readonly string[]).includes(value);
}

function normalise(raw: string): string {
  const trimmed = raw.trim().toLowerCase();
  return /^\d+$/.test(trimmed) ? `v${trimmed}` : trimmed;
}

function unsupported(value: string): PhError {
  return new PhError(
    'PH_UNSUPPORTED_API_VERSION',
    `API version ${JSON.stringify(value)} is not supported; use one of ${apiVersions.join(', ')}`,
    {
      details: { supported: apiVersions },
    },
  );
}

/**
 * The API version a request names: the URL prefix (`/api/v2/...`) when there is one, else the
 * `API-Version` header, else `?api-version=`; null when it names none (the caller's pinned version
 * or the latest answers, see `answeringVersion`). An unknown version, or a header that contradicts
 * the URL, is a 400 listing the supported versions.
 */
export function namedApiVersion(request: { pathVersion?: string; header?: string; query?: string }): ApiVersion | null {
  const asked = [request.header, request.query].filter((v): v is string => v !== undefined && v !== '').map(normalise);
  for (const value of asked) if (!isApiVersion(value)) throw unsupported(value);
  if (request.pathVersion !== undefined) {
    const fromPath = normalise(request.pathVersion);
    if (!isApiVersion(fromPath)) throw unsupported(request.pathVersion);
    const conflicting = asked.find((v) => v !== fromPath);
    if (conflicting !== undefined) {
      throw new PhError('PH_UNSUPPORTED_API_VERSION', `The URL asks for ${fromPath} but the request also asks for ${conflicting}`, {
        details: { supported: apiVersions },
      });
    }
    return fromPath;
  }
  return (asked[0] as ApiVersion | undefined) ?? null;
}

/** The version that answers: the one the request names, else the one its key is pinned to, else the latest. */
export function answeringVersion(named: ApiVersion | null, pinned: ApiVersion | undefined): ApiVersion {
  return named ?? pinned ?? latestApiVersion;
}

/** Headers a response in `version` carries: RFC 9745 wants `@<unix seconds>`, RFC 8594 an HTTP-date. */
export function deprecationHeaders(version: ApiVersion): Record<string, string> {
  const info = deprecatedApiVersions[version];
  if (info === undefined) return {};
  return {
    deprecation: `@${Math.floor(info.deprecatedAt.getTime() / 1000)}`,
    sunset: info.sunsetAt.toUTCString(),
    link: `</api/docs>; rel="deprecation"; type="text/html"`,
  };
}
