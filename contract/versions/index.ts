import type { ApiRelease, DocumentedAnswer, JsonSchemaObject, RouteRef, VersionChange, VersionedAnswer } from './change';
import { v2 } from './v2';

export type { ApiRelease, DocumentedAnswer, JsonSchemaObject, RouteRef, VersionChange, VersionedAnswer } from './change';

/** The first version: it has no changes of its own, every later one is declared by what it changes. */
export const firstApiVersion = 'v1';

/**
 * Every release after the first, oldest first. Adding v3 is one file (`v3.ts`, its changes) and its
 * name here; the list of versions, the chains, the OpenAPI document and the changelog follow.
 */
export const apiReleases = [v2] as const satisfies readonly ApiRelease[];

type Release = (typeof apiReleases)[number];
export type ApiVersion = typeof firstApiVersion | Release['version'];

/** The versions, oldest first. */
export const apiVersions: readonly ApiVersion[] = [firstApiVersion, ...apiReleases.map((r) => r.version)];

/** How a list of releases serves each version of each route: what the REST layer and OpenAPI read. */
export interface VersionChain<V extends string> {
  /** The versions a route is served in: all of them, but those before the release that added it. */
  versionsServing(route: RouteRef): V[];
  /** An older request's operation input, brought up to the latest version: the oldest change first. */
  upgradeInput(route: RouteRef, version: V, input: Record<string, unknown>): Record<string, unknown>;
  /** The latest version's answer, brought down to `version`: the newest change first. */
  downgradeAnswer(route: RouteRef, version: V, answer: VersionedAnswer): VersionedAnswer;
  /** What OpenAPI documents for `version`'s answer, from the latest's. */
  downgradeDocumented(route: RouteRef, version: V, documented: DocumentedAnswer): DocumentedAnswer;
  /** What OpenAPI documents for `version`'s request body, from the latest's. */
  downgradeRequestSchema(route: RouteRef, version: V, schema: JsonSchemaObject): JsonSchemaObject;
  /** Whether anything changed for this route between `version` and the latest (its request, its answer). */
  changesRoute(route: RouteRef, version: V): { request: boolean; response: boolean };
}

/**
 * The chain of a first version and the releases after it. Within a release, response transforms run
 * in the order declared and request transforms in reverse, so a release reads top to bottom as
 * "what the older answer is made of".
 */
export function versionChain<V extends string>(first: V, releases: readonly ApiRelease<V>[]): VersionChain<V> {
  const versions: V[] = [first, ...releases.map((r) => r.version)];
  const rank = (version: V): number => versions.indexOf(version);
  const newer = (version: V): ApiRelease<V>[] => releases.filter((r) => rank(r.version) > rank(version));
  const touching = (release: ApiRelease<V>, route: RouteRef): VersionChange[] => release.changes.filter((c) => c.routes.includes(route));
  /** Newer to older: the newest release first, each release's changes as declared. */
  const down = (version: V, route: RouteRef): VersionChange[] =>
    newer(version)
      .reverse()
      .flatMap((r) => touching(r, route));
  /** Older to newer: exactly the reverse. */
  const up = (version: V, route: RouteRef): VersionChange[] => down(version, route).reverse();
  return {
    versionsServing: (route) => {
      const added = releases.find((r) => r.changes.some((c) => c.kind === 'added' && c.routes.includes(route)));
      return added === undefined ? [...versions] : versions.filter((v) => rank(v) >= rank(added.version));
    },
    upgradeInput: (route, version, input) =>
      up(version, route).reduce((current, change) => change.request?.input(current) ?? current, input),
    downgradeAnswer: (route, version, answer) =>
      down(version, route).reduce((current, change) => change.response?.answer(current) ?? current, answer),
    downgradeDocumented: (route, version, documented) =>
      down(version, route).reduce((current, change) => change.response?.document(current) ?? current, documented),
    downgradeRequestSchema: (route, version, schema) =>
      down(version, route).reduce((current, change) => change.request?.document?.(current) ?? current, schema),
    changesRoute: (route, version) => {
      const changes = down(version, route);
      return { request: changes.some((c) => c.request !== undefined), response: changes.some((c) => c.response !== undefined) };
    },
  };
}

/** The API's own chain: what the server mounts and answers, and what its OpenAPI document says. */
export const { versionsServing, upgradeInput, downgradeAnswer, downgradeDocumented, downgradeRequestSchema, changesRoute } =
  versionChain<ApiVersion>(firstApiVersion, apiReleases);

/** Every declaration with its version, as the contract snapshot and the changelog read them. */
export function versionChangeTable(): {
  version: ApiVersion;
  date: string;
  id: string;
  kind: VersionChange['kind'];
  changelog: string;
  routes: readonly RouteRef[];
  transforms: ('request' | 'response')[];
}[] {
  return (apiReleases as readonly ApiRelease<ApiVersion>[]).flatMap((release) =>
    release.changes.map((change) => ({
      version: release.version,
      date: release.date,
      id: change.id,
      kind: change.kind,
      changelog: change.changelog,
      routes: change.routes,
      transforms: [
        ...(change.request === undefined ? [] : ['request' as const]),
        ...(change.response === undefined ? [] : ['response' as const]),
      ],
    })),
  );
}
