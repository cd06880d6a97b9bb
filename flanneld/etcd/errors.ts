// Typed errors of the etcd connection. Messages name endpoints and files, never secrets.

/** No endpoint answered (refused, timed out, unreachable). */
export class EtcdUnavailableError extends Error {
  override readonly name = 'EtcdUnavailableError';
  constructor(readonly endpoints: string[], detail: string) {
    super(`etcd unavailable at ${endpoints.join(',')}: ${detail}`);
  }
}

/** The TLS handshake with an endpoint failed one of its checks (trust, name, validity). */
export class EtcdTlsError extends Error {
  override readonly name = 'EtcdTlsError';
  constructor(readonly endpoint: string, readonly check: 'trust' | 'name' | 'expired' | 'not-yet-valid' | 'handshake', message: string) {
    super(message);
  }
}

/** A client option (a certificate file, an endpoint) is unusable. */
export class EtcdOptionError extends Error {
  override readonly name = 'EtcdOptionError';
}
