import { ClientError } from './client';

/** How long the console waits for any answer before showing PH_CONSOLE_TIMEOUT instead of a spinner. */
export const REQUEST_TIMEOUT_MS = 15_000;

/**
 * One POST of JSON with a bearer token and a deadline. Whatever goes wrong arrives as a coded
 * ClientError: no answer in time (PH_CONSOLE_TIMEOUT), no connection (PH_UNAVAILABLE), or the
 * server's own `{ error: { code } }`. `what` names the call in the timeout's message.
 */
export async function postJson(
  url: string,
  token: string,
  body: unknown,
  what: string,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<{ status: number; body: unknown }> {
  // One deadline for the whole exchange: headers and body alike (a server can stall mid-body).
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = () =>
    new ClientError(
      'PH_CONSOLE_TIMEOUT',
      `No answer to ${what} within ${Math.round(timeoutMs / 100) / 10} s; the server may be overloaded or a dependency hung`,
    );
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body ?? {}),
      signal,
    });
  } catch {
    throw signal.aborted ? timedOut() : new ClientError('PH_UNAVAILABLE', 'Pilothouse cannot be reached');
  }
  let parsed: unknown = null;
  try {
    parsed = (await res.json()) as unknown;
  } catch {
    if (signal.aborted) throw timedOut();
  }
  return { status: res.status, body: parsed };
}
