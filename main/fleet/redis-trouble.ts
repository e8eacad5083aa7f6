import { PhError } from '../../contract/errors';

const UNREACHABLE =
  /max retries|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection is closed|Stream isn't writeable|timed? ?out/i;

/**
 * What a service's status says of a Redis failure. Statuses reach any signed-in caller (`/readyz`
 * detail, `system.status`), so they name the kind of failure, never the driver's own message (which
 * can quote its options and addresses): a catalogue code, `unreachable`, or that a command failed.
 */
export function redisTrouble(err: unknown): string {
  if (err instanceof PhError) return err.code;
  return UNREACHABLE.test(err instanceof Error ? err.message : String(err)) ? 'unreachable' : 'a command failed';
}
