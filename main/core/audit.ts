/** One change for the audit trail, as the code that made it describes it. */
export interface AuditRecord {
  readonly actor: string;
  readonly action: string;
  readonly target?: string | null;
  readonly outcome: 'ok' | 'error';
  readonly detail?: string | null;
}

/** Where changes are recorded: the security capability's hash-chained log implements it. */
export interface AuditTrail {
  append(record: AuditRecord): unknown;
}

/** One call of an operation whose audit mode is `counted`: tallied, not written on its own. */
export interface CountedCall {
  readonly actor: string;
  readonly keyId: string | null;
  readonly action: string;
  readonly outcome: 'ok' | 'error';
  /** The error code of a failed call. */
  readonly code?: string | null;
}

/** Where counted calls go: the audit log's per-minute tallies and the usage per key and operation. */
export interface CallCounter {
  count(call: CountedCall): void;
}
