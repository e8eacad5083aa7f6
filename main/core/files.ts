/** A file an operation prepared for its caller (a snapshot export), beside the operation's JSON result. */
export interface PreparedFile {
  readonly path: string;
  readonly fileName: string;
  readonly contentType: string;
  /** Removes the file; called once it has been sent, or when nobody took it. */
  readonly done: () => void;
}

/** How long a prepared file waits for a transport to take it (REST streams it at once; IPC never does). */
const UNCLAIMED_MS = 60_000;
const prepared = new WeakMap<object, { file: PreparedFile; timer: NodeJS.Timeout }>();

/** Attaches `file` to an operation's result; removed after a minute unless a transport takes it. */
export function withFile<T extends object>(result: T, file: PreparedFile): T {
  const timer = setTimeout(() => {
    if (prepared.delete(result)) file.done();
  }, UNCLAIMED_MS);
  timer.unref();
  prepared.set(result, { file, timer });
  return result;
}

/** The file attached to an operation's result, now the caller's to send and then remove. */
export function takeFile(result: unknown): PreparedFile | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const entry = prepared.get(result);
  if (entry === undefined) return undefined;
  prepared.delete(result);
  clearTimeout(entry.timer);
  return entry.file;
}
