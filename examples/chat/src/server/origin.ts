// Cross-site WebSocket hijacking: a browser attaches the user's cookies to a WebSocket
// opened by any web page, and only the Origin header tells the server which page that is.
// By default the chat accepts the page's own origin (the origin whose host is the host the
// request was sent to) plus any origins configured explicitly. Requests without an Origin
// header do not come from a browser page and are not subject to this check.

export interface OriginPolicy {
  /** Extra origins allowed besides the page's own, e.g. `https://chat.example.com`. */
  allowed: readonly string[];
  /** `false` turns the check off (for development behind unusual proxies only). */
  enabled: boolean;
}

export function isOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  policy: OriginPolicy,
): boolean {
  if (!policy.enabled || origin === undefined) return true;
  if (policy.allowed.includes(origin)) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  return host !== undefined && parsed.host === host.toLowerCase();
}
