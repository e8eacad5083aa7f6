/** `Authorization: Basic` for an API key as an OAuth client (client_secret_basic: its id and secret). */
export function basic(apiKey: string): string {
  const match = /^ph_([0-9a-f]{16})_(.+)$/.exec(apiKey);
  if (match === null) throw new Error('not an API key');
  return `Basic ${Buffer.from(`${match[1]}:${match[2]}`).toString('base64')}`;
}

export interface OAuthAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** POSTs URL-encoded fields to an OAuth endpoint with the key as client (or `authorization` as given). */
export async function oauthPost(
  url: string,
  path: string,
  fields: Record<string, string>,
  client: { key: string } | { authorization: string | null },
): Promise<OAuthAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const authorization = 'key' in client ? basic(client.key) : client.authorization;
  if (authorization !== null) headers.authorization = authorization;
  const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: new URLSearchParams(fields).toString() });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text) };
}

export const token = (url: string, key: string, fields: Record<string, string> = { grant_type: 'client_credentials' }) =>
  oauthPost(url, '/oauth/token', fields, { key });
