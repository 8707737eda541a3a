/**
 * A random id for a message, chosen by the page so the server can recognise a message it
 * already stored if it is ever sent twice. `crypto.getRandomValues` works on plain-http
 * pages too (unlike `crypto.randomUUID`, which needs a secure context).
 */
export function messageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let id = '';
  for (const byte of bytes) id += byte.toString(16).padStart(2, '0');
  return id;
}
