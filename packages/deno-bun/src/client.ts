import type { ClientOptions as SharedClientOptions, Connect as SharedConnect } from '@switchyard/adapter-kit';

/** TLS settings of a `wss://` client. */
export interface ClientTlsOptions {
  /** Extra trusted CA certificates (PEM), e.g. a test certificate. */
  readonly ca?: string | readonly string[];
  /**
   * Bun only: set false to accept any certificate (tests only). Deno offers no per-connection
   * switch; run it with `--unsafely-ignore-certificate-errors` instead.
   */
  readonly rejectUnauthorized?: boolean;
}

/** Options beyond the WHATWG constructor's two arguments (the same on Node, Deno and Bun; `tls` in this runtime's terms). */
export type ClientOptions = SharedClientOptions<ClientTlsOptions>;

/** How a runtime opens a TCP or TLS connection for the client. */
export type Connect = SharedConnect<ClientTlsOptions>;

export { BaseWebSocket, CONNECTING, OPEN, CLOSING, CLOSED } from '@switchyard/adapter-kit';
export type { BinaryType, ClientDeflateOptions, ReadyState } from '@switchyard/adapter-kit';
