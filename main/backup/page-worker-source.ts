/**
 * The code each page worker runs, as a plain CommonJS string evaluated by `new Worker(code, { eval: true })`.
 *
 * Hand-written as a string on purpose: a separate worker *file* has to be bundled as its own entry by
 * electron-vite, loaded through a TypeScript loader under vitest/tsx, and found again beside the built
 * main process; an eval'd worker that needs only Node built-ins works the same in all three. It stays
 * small: hashing, compression and file hashing, plus `PRAGMA integrity_check` and the capture of a
 * snapshot's image through better-sqlite3, whose resolved path the parent passes in `workerData` (so
 * neither blocks the main thread).
 */
export const PAGE_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const zlib = require('node:zlib');
const fs = require('node:fs');

const CODEC_RAW = 0;
const CODEC_DEFLATE = 1;
const CODEC_BROTLI = 2;

function hashPages(buf, pageSize) {
  const n = Math.floor(buf.length / pageSize);
  const out = Buffer.allocUnsafe(n * 32);
  for (let i = 0; i < n; i++) {
    createHash('sha256').update(buf.subarray(i * pageSize, (i + 1) * pageSize)).digest().copy(out, i * 32);
  }
  return out;
}

function compressPages(buf, pageSize, level) {
  const n = Math.floor(buf.length / pageSize);
  const parts = [];
  const lengths = new Uint32Array(n);
  const codecs = new Uint8Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const page = buf.subarray(i * pageSize, (i + 1) * pageSize);
    // Brotli at a low quality with a 4 KiB window: about 1.5x the speed of deflate level 1 on a single
    // page, and a smaller blob (each page is compressed alone, so the per-call setup matters).
    let blob = zlib.brotliCompressSync(page, { params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: level,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 12,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: page.length,
    } });
    let codec = CODEC_BROTLI;
    if (blob.length >= page.length) { blob = page; codec = CODEC_RAW; }
    parts.push(blob);
    lengths[i] = blob.length;
    codecs[i] = codec;
    total += blob.length;
  }
  return { blobs: Buffer.concat(parts, total), lengths, codecs };
}

function expandPages(blobs, lengths, codecs, pageSize) {
  const n = lengths.length;
  const pages = Buffer.allocUnsafe(n * pageSize);
  const hashes = Buffer.allocUnsafe(n * 32);
  const bad = [];
  let off = 0;
  for (let i = 0; i < n; i++) {
    const blob = blobs.subarray(off, off + lengths[i]);
    off += lengths[i];
    let page;
    try {
      page = codecs[i] === CODEC_RAW ? blob : codecs[i] === CODEC_BROTLI ? zlib.brotliDecompressSync(blob) : zlib.inflateRawSync(blob);
    } catch (e) {
      page = null;
    }
    if (page === null || page.length !== pageSize) {
      bad.push(i);
      pages.fill(0, i * pageSize, (i + 1) * pageSize);
      hashes.fill(0, i * 32, (i + 1) * 32);
      continue;
    }
    page.copy(pages, i * pageSize);
    createHash('sha256').update(page).digest().copy(hashes, i * 32);
  }
  return { pages, hashes, bad };
}

function hashFile(path) {
  const hash = createHash('sha256');
  const fd = fs.openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function integrityCheck(path) {
  const Database = require(workerData.sqliteModule);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('PRAGMA integrity_check').all().map((r) => String(r.integrity_check));
  } finally {
    db.close();
  }
}

// SQLite's online backup API, as captureImage describes it; here so its steps never hold the main
// thread (a source written during the copy makes the rest one step: the whole file at once).
async function capture(source, dest, busyTimeoutMs, stepPages) {
  const Database = require(workerData.sqliteModule);
  const db = new Database(source, { fileMustExist: true, timeout: busyTimeoutMs });
  try {
    let lastRemaining = Infinity;
    let lastMoved = Date.now();
    let oneStep = false;
    let sawPages = false;
    await db.backup(dest, {
      progress: ({ totalPages, remainingPages }) => {
        const now = Date.now();
        sawPages = sawPages || totalPages > 0;
        if (remainingPages < lastRemaining) lastMoved = now;
        else if (now - lastMoved > busyTimeoutMs) throw Object.assign(new Error('the source stayed locked'), { code: 'SQLITE_BUSY' });
        if (remainingPages > lastRemaining && lastRemaining !== Infinity) oneStep = true;
        lastRemaining = remainingPages;
        return oneStep ? 0x7fffffff : stepPages;
      },
    });
    return { sawPages };
  } finally {
    db.close();
  }
}

function toBuf(u8) { return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength); }
// Hands whole ArrayBuffers over instead of copying them; pooled (shared) ones are copied.
function xfer(...views) {
  return views.filter((v) => v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.byteLength > 0).map((v) => v.buffer);
}

// Running whole-image hashes, fed chunk by chunk in image order (see PageWorkers.streamUpdate).
const streams = new Map();

parentPort.on('message', (msg) => {
  try {
    if (msg.op === 'streamUpdate') {
      let h = streams.get(msg.stream);
      if (h === undefined) { h = createHash('sha256'); streams.set(msg.stream, h); }
      h.update(toBuf(msg.buf));
      return; // no reply: the digest call reports the result
    } else if (msg.op === 'streamDigest') {
      const h = streams.get(msg.stream) || createHash('sha256');
      streams.delete(msg.stream);
      parentPort.postMessage({ id: msg.id, ok: true, hash: h.digest('hex') });
    } else if (msg.op === 'hash') {
      const out = hashPages(toBuf(msg.buf), msg.pageSize);
      parentPort.postMessage({ id: msg.id, ok: true, hashes: out }, xfer(out));
    } else if (msg.op === 'compress') {
      const r = compressPages(toBuf(msg.buf), msg.pageSize, msg.level);
      parentPort.postMessage({ id: msg.id, ok: true, blobs: r.blobs, lengths: r.lengths, codecs: r.codecs }, xfer(r.blobs));
    } else if (msg.op === 'expand') {
      const r = expandPages(toBuf(msg.blobs), msg.lengths, msg.codecs, msg.pageSize);
      parentPort.postMessage({ id: msg.id, ok: true, pages: r.pages, hashes: r.hashes, bad: r.bad }, xfer(r.pages, r.hashes));
    } else if (msg.op === 'hashFile') {
      parentPort.postMessage({ id: msg.id, ok: true, hash: hashFile(msg.path) });
    } else if (msg.op === 'integrity') {
      parentPort.postMessage({ id: msg.id, ok: true, result: integrityCheck(msg.path) });
    } else if (msg.op === 'capture') {
      capture(msg.source, msg.dest, msg.busyTimeoutMs, msg.stepPages).then(
        (r) => parentPort.postMessage({ id: msg.id, ok: true, sawPages: r.sawPages }),
        (e) => parentPort.postMessage({ id: msg.id, ok: false, error: String((e && e.message) || e), code: e && e.code }),
      );
    } else {
      parentPort.postMessage({ id: msg.id, ok: false, error: 'unknown op ' + msg.op });
    }
  } catch (e) {
    parentPort.postMessage({ id: msg.id, ok: false, error: String(e && e.message || e), code: e && e.code });
  }
});
`;
