import { BlockList, isIP } from 'node:net';

/** One `syslog.sender_timezones` entry: senders by address or CIDR, and the zone their clocks keep. */
export interface SenderTimeZone {
  addresses: string[];
  timezone: string;
}

/** Whether `value` is an IPv4/IPv6 address or a CIDR block (`10.1.0.0/16`, `2001:db8::/32`). */
export function isAddressOrCidr(value: string): boolean {
  const [address, prefix, extra] = value.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** An IPv4 peer reached through a dual-stack socket (`::ffff:10.1.2.3`) is the IPv4 sender it is. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The zone of a sender's RFC 3164 times (which carry none): the first entry
 * that holds its address, else `fallback`. Network gear and hosts in other
 * offices keep their own local clocks, so one zone per server is not enough.
 */
export function senderTimeZones(entries: SenderTimeZone[], fallback: string): (address: string | undefined) => string {
  const lists = entries.map(({ addresses, timezone }) => {
    const list = new BlockList();
    for (const value of addresses) {
      const [address, prefix] = value.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) list.addAddress(address, family);
      else list.addSubnet(address, Number(prefix), family);
    }
    return { list, timezone };
  });
  return (address) => {
    if (lists.length === 0 || !address) return fallback;
    const plain = plainAddress(address);
    const family = isIP(plain);
    if (family === 0) return fallback;
    return lists.find(({ list }) => list.check(plain, family === 6 ? 'ipv6' : 'ipv4'))?.timezone ?? fallback;
  };
}
