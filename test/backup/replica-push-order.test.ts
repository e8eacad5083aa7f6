import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pushReplica } from '../../main/backup/replica-sync';
import { FolderTransport } from '../../main/backup/replica-transport';
import { tempDir } from '../helpers/temp-dir';
import { makeMarkedDatabase, openService, type Opened } from './encryption/repo-harness';

/** A real folder replica that notes when each file's transfer starts and ends, and can fail one file. */
class WatchedFolder extends FolderTransport {
  readonly events: { name: string; at: 'start' | 'end' }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  failOn: string | null = null;

  async #watched<T>(name: string, send: () => Promise<T>): Promise<T> {
    this.events.push({ name, at: 'start' });
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (name === this.failOn) throw new Error(`the target refused ${name}`);
      return await send();
    } finally {
      this.inFlight -= 1;
      this.events.push({ name, at: 'end' });
    }
  }

  override put(name: string, localPath: string): Promise<number> {
    return this.#watched(name, () => super.put(name, localPath));
  }

  override putBytes(name: string, bytes: Buffer): Promise<void> {
    return name === 'repository.json' ? super.putBytes(name, bytes) : this.#watched(name, () => super.putBytes(name, bytes));
  }
}

const at = (events: WatchedFolder['events'], name: string, kind: 'start' | 'end'): number =>
  events.findIndex((e) => e.name === name && e.at === kind);

describe('pushing a repository to a folder replica', () => {
  const dir = tempDir('ph-replica-order-');
  let opened: Opened | null = null;
  afterAll(async () => {
    await opened?.stop();
    dir.remove();
  });

  it('sends packs side by side, each index after its pack and every manifest after every pack; after a failure the packs not yet begun stay unsent and what arrived is recorded', async () => {
    const src = join(dir.path, 'src.db');
    makeMarkedDatabase(src, 6000).db.close(); // 24 MB: a pack per 4 MiB chunk of pages
    opened = await openService(dir.path, { packTargetBytes: 128 * 1024 });
    const { service } = opened;
    const source = service.registerSource({ name: 'src', path: src });
    await service.snapshot(source.id);
    await service.snapshot(source.id);

    const root = join(dir.path, 'replica');
    mkdirSync(root);
    const failing = new WatchedFolder(root);
    const packs = service.repo.db.prepare('SELECT id FROM packs ORDER BY id').pluck().all() as string[];
    expect(packs.length).toBeGreaterThan(failing.concurrency + 1);
    failing.failOn = `packs/${packs[2]}.pack`;
    const arrived = new Map<string, number>();
    await expect(pushReplica(service.repo, failing, undefined, arrived)).rejects.toThrow(/refused/);
    expect(failing.inFlight).toBe(0);
    expect(failing.events.some((e) => e.name.startsWith('snapshots/'))).toBe(false);
    expect(arrived.has(`packs/${packs[2]}.pack`)).toBe(false);
    expect(arrived.has(`packs/${packs[2]}.idx`)).toBe(false);
    // Only files that ended are recorded as arrived, and the packs after the failure were never begun.
    for (const name of arrived.keys()) if (name !== 'repository.json') expect(at(failing.events, name, 'end')).toBeGreaterThan(-1);
    const begun = packs.filter((id) => at(failing.events, `packs/${id}.pack`, 'start') > -1);
    expect(begun.length).toBeLessThan(packs.length);

    const watched = new WatchedFolder(root);
    const result = await pushReplica(service.repo, watched);
    expect(watched.maxInFlight).toBeGreaterThan(1);
    expect(watched.maxInFlight).toBeLessThanOrEqual(watched.concurrency);
    const lastPackEnd = Math.max(...watched.events.flatMap((e, i) => (e.name.startsWith('packs/') && e.at === 'end' ? [i] : [])));
    for (const [i, e] of watched.events.entries()) {
      if (e.name.startsWith('snapshots/') && e.at === 'start') expect(i).toBeGreaterThan(lastPackEnd);
      if (e.name.endsWith('.idx') && e.at === 'start') {
        const pack = e.name.replace(/\.idx$/, '.pack');
        // The pack was sent in this push or had arrived in the failed one.
        if (!arrived.has(pack)) expect(i).toBeGreaterThan(at(watched.events, pack, 'end'));
      }
    }
    // Nothing that had arrived was sent again, and the replica now holds everything.
    for (const name of arrived.keys()) if (name !== 'repository.json') expect(at(watched.events, name, 'start')).toBe(-1);
    expect(result.filesSent).toBeGreaterThan(0);
    expect(await pushReplica(service.repo, new FolderTransport(root))).toMatchObject({ filesSent: 0 });
  }, 60_000);
});
