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
