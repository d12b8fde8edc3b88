import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * The guard of every POST to a URL a peer gave us (its transfer URL in the directory, the
 * confirmation URL of a citizen it sends us): anyone can register an operator at the hub, so these
 * are strangers' URLs. Checks, in order:
 *
 * 1. the URL: http(s) only, https only when `httpsOnly` (production); no user info;
 * 2. the host: one the hub directory lists for some operator (`listedHosts`), unless it is in
 *    PEER_ALLOWED_HOSTS (`host:port`), which also skips 3 (development and tests);
 * 3. every address the host resolves to: plain public unicast only. Loopback, private (RFC 1918),
 *    link-local (which holds the cloud metadata address 169.254.169.254), unique-local (fd00::/8,
 *    AWS's fd00:ec2::254), CGNAT (100.64.0.0/10, Alibaba's 100.100.100.200), multicast, reserved,
 *    and IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4, Teredo) are refused. Numeric
 *    tricks (`2130706433`, `0177.0.0.1`, `0x7f.1`) are read by the WHATWG URL parser and by the
 *    resolver as the address they mean, and that address is what is checked.
 *
 * The check runs inside the connection's own lookup (`lookup()` below, given to undici), so the
 * socket connects to the address that was checked: no second DNS answer can differ from it.
 * Redirects are never followed (the peer client treats a 3xx as a refusal).
 *
 * The ranges are ipaddr.js's (whitelabeljs, used by proxy-addr under Fastify): its range tables
 * follow the IANA special-purpose registries, which we would otherwise copy by hand.
 */

export class PeerUrlRefused extends Error {
  constructor(
    readonly url: string,
    readonly why: string,
  ) {
    super(`refused to call ${safeOrigin(url)}: ${why}`);
    this.name = 'PeerUrlRefused';
  }
}

/** Scheme, host and port of a URL, never its path or query (they may carry tokens). */
export function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}

/** `host:port` of a URL as PEER_ALLOWED_HOSTS names it (the port explicit). */
export function hostPort(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.hostname.toLowerCase()}:${port}`;
}

/** Why an address may not be called, or undefined when it is public unicast. */
export function refusedAddress(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const parsed = ipaddr.process(address); // IPv4-mapped IPv6 becomes the IPv4 it maps
  const range = parsed.range();
  return range === 'unicast' ? undefined : `${parsed.toString()} is a ${range} address`;
}

export interface PeerGuardOptions {
  /** Production: https only. */
  httpsOnly: boolean;
  /** PEER_ALLOWED_HOSTS: `host:port` entries allowed without the address checks. */
  allowedHosts: string[];
  /** The hosts (lowercase, no port) the directory lists for some operator. */
  listedHosts: () => Promise<{ has(host: string): boolean }>;
  /** For tests: the resolver (node's dns.lookup by default). */
  resolve?: (host: string) => Promise<LookupAddress[]>;
}

export type Lookup = (
  hostname: string,
  options: object,
  callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
) => void;

const systemResolve = (host: string) =>
  new Promise<LookupAddress[]>((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );

export class PeerGuard {
  private readonly allowed: Set<string>;
  private readonly resolve: (host: string) => Promise<LookupAddress[]>;

  constructor(private readonly o: PeerGuardOptions) {
    this.allowed = new Set(o.allowedHosts.map((h) => h.toLowerCase()));
    this.resolve = o.resolve ?? systemResolve;
  }

  /**
   * Checks the URL and its host (1 and 2 above). Returns whether the address checks apply:
   * false for a host in PEER_ALLOWED_HOSTS. Throws PeerUrlRefused.
   */
  async checkUrl(raw: string): Promise<{ url: URL; checkAddresses: boolean }> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new PeerUrlRefused(raw, 'not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new PeerUrlRefused(raw, `${url.protocol} is not http(s)`);
    }
    if (this.o.httpsOnly && url.protocol !== 'https:') {
      throw new PeerUrlRefused(raw, 'only https is allowed in production');
    }
    if (url.username || url.password) throw new PeerUrlRefused(raw, 'user info in the URL');
    if (this.allowed.has(hostPort(url))) return { url, checkAddresses: false };
    const host = url.hostname.toLowerCase();
    if (!(await this.o.listedHosts()).has(host)) {
      throw new PeerUrlRefused(raw, 'its host is not listed for any operator in the hub directory');
    }
    // An IP literal is checked now (no lookup happens for it), a name when it resolves.
    const literal = host.replace(/^\[|\]$/g, '');
    if (isIP(literal)) {
      const why = refusedAddress(literal);
      if (why) throw new PeerUrlRefused(raw, why);
    }
    return { url, checkAddresses: true };
  }

  /**
   * The lookup of connections to checked URLs: resolves once, refuses the connection if any
   * address is not public, and hands the checked addresses to the socket.
   */
  readonly lookup: Lookup = (hostname, options, callback) => {
    const all = (options as { all?: boolean }).all === true;
    this.resolve(hostname).then(
      (addresses) => {
        const bad = addresses.map((a) => refusedAddress(a.address)).find((why) => why);
        if (addresses.length === 0 || bad) {
          const refused = new PeerUrlRefused(`//${hostname}`, bad ?? 'the host has no address');
          callback(refused, '', 0);
          return;
        }
        const first = addresses[0] as LookupAddress;
        if (all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (err: Error) => callback(err, '', 0),
    );
  };
}
