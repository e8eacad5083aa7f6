import { PhError } from '../../contract/errors';
import type { BackupParts } from './backup-options';
import { environmentFault, messageOf } from './backup-faults';
import type { Report } from './backup-progress';
import { captureImage, sourceError } from './capture';
import type { SourceRecord } from './catalogue';
import type { ManifestHeader } from './manifest';
import { reassemble } from './reassembler';
import { checkPacks, settleVerified } from './repository-damage';
import { removeImage, storeImage } from './snapshotter';
import type { BackupSnapshot, BackupVerification } from './types';

/** Triggers nobody is waiting on: their snapshots yield the CPU to the source's writers. */
const BACKGROUND_TRIGGERS: ReadonlySet<ManifestHeader['trigger']> = new Set(['schedule', 'continuous', 'missed']);

/**
 * Captures `source` into a temp image, stores its pages and records the snapshot (the caller holds
 * the repository's append lock). A failure is recorded on the source, unless it is the machine's.
 */
export async function captureSnapshot(
  parts: BackupParts,
  source: SourceRecord,
  trigger: ManifestHeader['trigger'],
  report: Report,
  signal?: AbortSignal,
): Promise<BackupSnapshot> {
  const { repo, workers, catalogue, paths, options } = parts;
  const started = performance.now();
  const image = `${repo.tempPath('capture')}.sqlite`;
  catalogue.markRun(source.id, options.clock.now());
  // A page in a pack that is gone must be stored again, never deduplicated against (lost-packs.ts).
  checkPacks(parts);
  try {
    // A source registered before the roots were narrowed is not read any more.
    const path = source.kind === 'app' ? source.path : paths.source(source.path, 'id');
    await captureImage(path, image, workers, {
      busyTimeoutMs: options.busyTimeoutMs,
      onProgress: (d, t) => report('capture', d, t),
    });
    signal?.throwIfAborted();
    const capturedAt = options.clock.now();
    const { manifest, written } = await storeImage(
      repo,
      image,
      { sourceId: source.id, sourceName: source.name, capturedAt, trigger },
      (d, t) => report('store', d, t),
      { idleRatio: BACKGROUND_TRIGGERS.has(trigger) ? (options.backgroundSnapshotPace ?? 1) : 0 },
      signal,
    );
    catalogue.insertSnapshot(manifest, { pages: written.addedPages, bytes: written.addedBytes }, performance.now() - started);
    catalogue.markSuccess(source.id, capturedAt);
    return catalogue.snapshot(manifest.id) as BackupSnapshot;
  } catch (err) {
    if (signal?.aborted === true) throw signal.reason;
    // A full disk or a permission is the machine's fault, not the source's: say so, never blame the source.
    const fault = environmentFault(err);
    const failure = fault ?? (err instanceof PhError ? err : sourceError(source.path, err));
    try {
      catalogue.markFailure(source.id, options.clock.now(), messageOf(failure));
    } catch (markErr) {
      options.logger.warn({ err: messageOf(markErr) }, 'backup failure could not be recorded');
    }
    throw fault !== null || err instanceof PhError || (err as { code?: string }).code?.startsWith('SQLITE') ? failure : err;
  } finally {
    removeImage(image);
  }
}

/**
 * Rebuilds snapshot `h` into a temp image, checks its pages, whole-image hash and integrity, and
 * records the result (the caller holds the read lock). Nothing is recorded when `signal` is aborted
 * or the check could not run (a full disk, a permission): only damage found in the snapshot fails it.
 */
export async function verifySnapshot(
  parts: BackupParts,
  h: Pick<ManifestHeader, 'id' | 'sourceId'>,
  report: Report,
  signal?: AbortSignal,
): Promise<BackupVerification> {
  const { repo, workers, catalogue, options } = parts;
  const started = performance.now();
  const image = `${repo.tempPath('verify')}.sqlite`;
  try {
    let badPages: number[] = [];
    let imageHashOk = false;
    let integrity: string[];
    let pagesChecked = 0;
    try {
      const manifest = repo.readManifest(h.id);
      const r = await reassemble(repo, manifest, image, (d, t) => report('pages', d, t));
      badPages = r.badPages;
      pagesChecked = r.pagesChecked;
      imageHashOk = r.imageHash === manifest.imageHash;
      report('integrity_check', 0, 1);
      integrity = await workers.integrityCheck(image).catch((err: unknown) => {
        const fault = environmentFault(err);
        if (fault !== null) throw fault;
        return [`integrity_check failed: ${messageOf(err)}`];
      });
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason;
      const fault = environmentFault(err);
      if (fault !== null) throw fault;
      integrity = [`the snapshot could not be read: ${messageOf(err)}`];
    }
    signal?.throwIfAborted();
    const ok = badPages.length === 0 && imageHashOk && integrity.length === 1 && integrity[0] === 'ok';
    if (ok) settleVerified(parts, h.id);
    return catalogue.insertVerification({
      snapshotId: h.id,
      sourceId: h.sourceId,
      at: options.clock.now(),
      ok,
      pagesChecked,
      badPages: badPages.slice(0, 100),
      imageHashOk,
      integrity: integrity.slice(0, 20),
      durationMs: performance.now() - started,
    });
  } finally {
    removeImage(image);
  }
}
