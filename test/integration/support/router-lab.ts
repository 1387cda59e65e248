/**
 * A router lab on top of Lab: the server namespace forwards (ip_forward, IPv6 forwarding) between
 * its client links. The last client is the LAN host behind the router, the others are outside
 * clients with a route to the LAN through the router; the LAN host routes its replies back through
 * the router (the "return route" of docs/routers.md; no masquerading). Traffic stays on these links.
 */
import { type Host, type Lab, upLab } from './lab';

export interface RouterLab {
  readonly lab: Lab;
  /** Outside clients (they knock). */
  readonly outside: readonly Host[];
  /** The host behind the router. */
  readonly lan: Host;
}

/** The router's address on a client's link (Lab gives the client .2 / ::2 and the server .1 / ::1). */
export function linkAddr(h: Host, family: 4 | 6): string {
  return family === 4 ? h.ip4.replace(/\.2$/, '.1') : h.ip6.replace(/::2$/, '::1');
}

function net4(h: Host): string {
  return `${h.ip4.replace(/\.2$/, '.0')}/24`;
}

function net6(h: Host): string {
  return `${h.ip6.replace(/::2$/, '::')}/64`;
}

/** Up a lab with `outside` clients and one LAN host, forwarding on in the router; torn down after the test. */
export async function upRouterLab(t: { after(fn: () => unknown): void }, outside = 2): Promise<RouterLab> {
  const lab = await upLab(t, outside + 1);
  const hosts = lab.clients;
  const lan = hosts[hosts.length - 1] as Host;
  const out = hosts.slice(0, -1);
  await lab.sh(lab.server.ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  await lab.sh(lab.server.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
  for (const c of out) {
    await lab.sh(c.ns, 'ip', 'route', 'add', net4(lan), 'via', linkAddr(c, 4));
    await lab.sh(c.ns, 'ip', '-6', 'route', 'add', net6(lan), 'via', linkAddr(c, 6));
    await lab.sh(lan.ns, 'ip', 'route', 'add', net4(c), 'via', linkAddr(lan, 4));
    await lab.sh(lan.ns, 'ip', '-6', 'route', 'add', net6(c), 'via', linkAddr(lan, 6));
  }
  return { lab, outside: out, lan };
}
