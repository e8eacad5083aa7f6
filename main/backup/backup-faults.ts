import { PhError, faultOf } from '../../contract/errors';

/** A failure of the machine (a full disk, a permission), not of the snapshot: never recorded as damage. */
export function environmentFault(err: unknown): PhError | null {
  const fault = faultOf(err);
  return fault !== null && (fault.code === 'PH_DISK_FULL' || fault.code === 'PH_PERMISSION_DENIED') ? fault : null;
}

export const messageOf = (err: unknown): string =>
  err instanceof PhError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
