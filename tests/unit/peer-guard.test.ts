import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { PeerGuard, PeerUrlRefused, refusedAddress } from '../../src/transfers/peer-guard.js';

/** A guard whose directory lists `listed` and whose resolver answers from `dns`. */
function guard(
  listed: string[],
  dns: Record<string, string[]> = {},
  o: { httpsOnly?: boolean; allowedHosts?: string[] } = {},
) {
  return new PeerGuard({
    httpsOnly: o.httpsOnly ?? true,
    allowedHosts: o.allowedHosts ?? [],
    listedHosts: async () => new Set(listed),
    resolve: async (host) =>
      (dns[host] ?? []).map(
        (address): LookupAddress => ({
          address,
          family: address.includes(':') ? 6 : 4,
        }),
      ),
  });
}

/** What the connection's lookup does for `host`: the address it connects to, or the refusal. */
function lookup(g: PeerGuard, host: string, all = false): Promise<string | LookupAddress[]> {
  return new Promise((resolve, reject) =>
    g.lookup(host, { all }, (err, address) => (err ? reject(err) : resolve(address))),
  );
}

describe('peer URLs: the SSRF guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.0.0.5', 'private'],
    ['172.16.3.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'], // AWS, GCP, Azure metadata
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.100.100.200', 'carrierGradeNat'], // Alibaba metadata
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd00:ec2::254', 'uniqueLocal'], // AWS metadata over IPv6
    ['::ffff:127.0.0.1', 'loopback'], // IPv4-mapped
    ['::ffff:7f00:1', 'loopback'], // IPv4-mapped, hex
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['64:ff9b::a9fe:a9fe', 'rfc6052'], // NAT64 of 169.254.169.254
    ['2002:a9fe:a9fe::1', '6to4'],
    ['2001:0:4136:e378::1', 'teredo'],
    ['ff02::1', 'multicast'],
  ])('refuses %s (%s)', (address, range) => {
    expect(refusedAddress(address)).toMatch(new RegExp(`is a ${range} address$`));
  });

  it.each(['8.8.8.8', '190.24.1.10', '2800:3f0:4005:80b::200e'])('allows public %s', (a) => {
    expect(refusedAddress(a)).toBeUndefined();
  });

  it.each([
    ['http://2130706433/confirm', 'decimal'],
    ['http://0177.0.0.1/confirm', 'octal'],
    ['http://0x7f.0.0.1/confirm', 'hex'],
    ['http://127.1/confirm', 'short form'],
    ['http://[::ffff:127.0.0.1]/confirm', 'IPv4-mapped literal'],
    ['http://[::1]/confirm', 'IPv6 loopback literal'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata literal'],
  ])('refuses the literal %s (%s) even when the directory lists it', async (url) => {
    const host = new URL(url).hostname;
    const g = guard([host], {}, { httpsOnly: false });
    await expect(g.checkUrl(url)).rejects.toThrow(/is a (loopback|linkLocal) address/);
  });

  it('refuses a listed host that resolves to a private address, at connect time', async () => {
    const g = guard(['peer.example.org'], { 'peer.example.org': ['93.184.216.34', '10.0.0.7'] });
    await expect(g.checkUrl('https://peer.example.org/api/transferCitizen')).resolves.toMatchObject(
      {
        checkAddresses: true,
      },
    );
    await expect(lookup(g, 'peer.example.org')).rejects.toThrow(/10\.0\.0\.7 is a private address/);
    await expect(lookup(g, 'peer.example.org', true)).rejects.toBeInstanceOf(PeerUrlRefused);
  });

  it('connects to the address it checked, from one resolution', async () => {
    let asked = 0;
    const g = new PeerGuard({
      httpsOnly: true,
      allowedHosts: [],
      listedHosts: async () => new Set(['peer.example.org']),
      resolve: async () => {
        asked++;
        return asked === 1
          ? [{ address: '93.184.216.34', family: 4 }]
          : [{ address: '127.0.0.1', family: 4 }]; // a rebinding answer, never asked for
      },
    });
    expect(await lookup(g, 'peer.example.org')).toBe('93.184.216.34');
    expect(asked).toBe(1);
  });

  it('refuses http in production, other schemes, user info and hosts the directory does not list', async () => {
    const g = guard(['peer.example.org']);
    await expect(g.checkUrl('http://peer.example.org/x')).rejects.toThrow(/only https/);
    await expect(g.checkUrl('ftp://peer.example.org/x')).rejects.toThrow(/not http/);
    await expect(g.checkUrl('file:///etc/passwd')).rejects.toThrow(/not http/);
    await expect(g.checkUrl('https://user:pw@peer.example.org/x')).rejects.toThrow(/user info/);
    await expect(g.checkUrl('https://evil.example.net/x')).rejects.toThrow(/not listed/);
    await expect(g.checkUrl('not a url')).rejects.toThrow(/not a URL/);
  });

  it('PEER_ALLOWED_HOSTS skips the checks for exactly that host and port', async () => {
    const g = guard([], {}, { httpsOnly: false, allowedHosts: ['127.0.0.1:9000'] });
    await expect(g.checkUrl('http://127.0.0.1:9000/api/transferCitizen')).resolves.toMatchObject({
      checkAddresses: false,
    });
    await expect(g.checkUrl('http://127.0.0.1:9001/api/transferCitizen')).rejects.toThrow(
      PeerUrlRefused,
    );
  });

  it('never puts the path or query of a refused URL in its message', async () => {
    const g = guard([]);
    const err = await g.checkUrl('https://evil.example.net/cb?token=s3cret').catch((e) => e);
    expect(String(err.message)).not.toContain('s3cret');
  });
});
