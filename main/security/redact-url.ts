/**
 * A URL as it may appear in a message, a log line or a check's output: a password in it becomes
 * `***` (`http://user:***@host/`). Works on text that does not parse as a URL too, since that is
 * exactly what an error message about a bad URL echoes.
 */
export function redactUrl(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, '$1:***@');
}
