import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { apiChangelog } from '../contract/versions/changelog';

// Writes docs/api-changelog.md from contract/versions/; test/contract checks the file matches.
const target = fileURLToPath(new URL('../docs/api-changelog.md', import.meta.url));
writeFileSync(target, apiChangelog());
process.stdout.write(`wrote ${target}\n`);
