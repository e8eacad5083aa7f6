import { apiVersions, versionChangeTable } from './index';
import { socketChanges } from './socket-changes';

/**
 * docs/api-changelog.md, generated from the declarations (the REST versions', then the socket's) (scripts/api-changelog.ts writes it; the
 * contract test fails when the file and the declarations differ).
 */
export function apiChangelog(): string {
  const table = versionChangeTable();
  const lines = [
    '# API changelog',
    '',
    '<!-- Generated from contract/versions/ by `node --import tsx scripts/api-changelog.ts`; do not edit by hand. -->',
    '',
    `Versions, oldest first: ${apiVersions.join(', ')}. Every handler speaks the latest; an older version is served by`,
    'the changes below, each turning the latest answer into the older one (and an older request into the latest).',
    'A request names its version by the URL (`/api/v1/…`), the `API-Version` header or `?api-version=`; when it',
    'names none, the version its API key is pinned to answers, else the latest. See docs/api.md.',
    '',
  ];
  for (const version of [...apiVersions].reverse()) {
    const changes = table.filter((row) => row.version === version);
    if (changes.length === 0) continue;
    lines.push(`## ${version} (${changes[0]?.date ?? ''})`, '');
    for (const change of changes) {
      const routes = change.routes.map((r) => `\`${r}\``).join(', ');
      lines.push(`- **${change.id}** (${change.kind}; ${routes}): ${change.changelog}`);
    }
    lines.push('');
  }
  lines.push(
    '## Real-time socket (`/ws`)',
    '',
    'The socket has no versions: every client speaks the one protocol (docs/realtime-protocol.md). What changed, newest first:',
    '',
  );
  for (const change of socketChanges) lines.push(`- **${change.id}** (${change.date}): ${change.changelog}`);
  return `${lines.join('\n').trimEnd()}\n`;
}
