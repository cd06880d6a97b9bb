// TLS towards etcd. The server certificate is always verified: chain against --etcd-cafile (the
// system roots without one) and its SANs against the address actually dialled.
// grpc-js sets the TLS ServerName to the target host, which Bun refuses for an IP ("Setting the TLS
// ServerName to an IP address is not permitted") and Node deprecates (DEP0123). So each endpoint's
// channel gets a DNS-like `grpc.ssl_target_name_override` (also sent as SNI, which etcd ignores) and
// a checkServerIdentity bound to that endpoint's real host, which replaces the name check.
import * as tls from 'tls';
import * as grpc from '@grpc/grpc-js';
import { EtcdTlsError } from './errors';

/** The SNI/target name given to gRPC; never used for verification. */
const TARGET_NAME_OVERRIDE = 'etcd.flanneld.invalid';

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  cafile?: string;
}

function sansOf(cert: tls.PeerCertificate): string {
  return cert.subjectaltname ? cert.subjectaltname : 'none';
}

/** A checkServerIdentity that verifies the certificate names `host` (IP SAN or DNS SAN). */
function identityCheckFor(host: string): (name: string, cert: tls.PeerCertificate) => Error | undefined {
  return (_name, cert) => {
    const err = tls.checkServerIdentity(host, cert);
    if (!err) return undefined;
    return new EtcdTlsError(host, 'name', `etcd TLS: server certificate does not name ${host} (its SANs: ${sansOf(cert)})`);
  };
}

/** Channel credentials + options for one endpoint host. */
export function channelFor(host: string, m: TlsMaterial): { credentials: grpc.ChannelCredentials; options: Record<string, unknown> } {
  const credentials = grpc.credentials.createSsl(m.ca ?? null, m.key ?? null, m.cert ?? null, {
    checkServerIdentity: identityCheckFor(host),
  });
  return { credentials, options: { 'grpc.ssl_target_name_override': TARGET_NAME_OVERRIDE } };
}

/**
 * Explains why a TLS connection to host:port fails, by one handshake of our own made with the same
 * material: trust, expiry or name. Returns null when the handshake succeeds (the failure lies
 * elsewhere) or when the endpoint does not answer TLS at all.
 */
export function diagnoseTls(host: string, port: number, m: TlsMaterial, timeoutMs = 3000): Promise<EtcdTlsError | null> {
  return new Promise((resolve) => {
    const caName = m.cafile ? `--etcd-cafile ${m.cafile}` : 'the system CA roots';
    const sock = tls.connect({
      host,
      port,
      ca: m.ca,
      cert: m.cert,
      key: m.key,
      servername: TARGET_NAME_OVERRIDE,
      rejectUnauthorized: false,
      // The name is checked below against the dialled host, not against the SNI override.
      checkServerIdentity: () => undefined,
      ALPNProtocols: ['h2'],
    });
    const done = (r: EtcdTlsError | null): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.once('error', (e: NodeJS.ErrnoException) => {
      // A TCP-level failure is not a TLS one: the caller reports it as unavailability.
      if (e.syscall === 'connect' || /^E[A-Z]+$/.test(e.code ?? '')) return done(null);
      done(new EtcdTlsError(host, 'handshake', `etcd TLS: handshake with ${host}:${port} failed: ${e.message}`));
    });
    sock.once('secureConnect', () => {
      const cert = sock.getPeerCertificate();
      const code = (sock.authorizationError as unknown as { code?: string } | undefined)?.code ?? String(sock.authorizationError ?? '');
      if (!sock.authorized) {
        if (/CERT_HAS_EXPIRED/.test(code)) {
          return done(new EtcdTlsError(host, 'expired', `etcd TLS: server certificate for ${host} expired at ${cert.valid_to}`));
        }
        if (/CERT_NOT_YET_VALID/.test(code)) {
          return done(new EtcdTlsError(host, 'not-yet-valid', `etcd TLS: server certificate for ${host} is not valid before ${cert.valid_from}`));
        }
        return done(new EtcdTlsError(host, 'trust', `etcd TLS: server certificate for ${host} is not trusted by ${caName} (${code})`));
      }
      const nameErr = identityCheckFor(host)('', cert);
      done((nameErr as EtcdTlsError | undefined) ?? null);
    });
  });
}
