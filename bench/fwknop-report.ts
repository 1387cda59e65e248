/** The fwknop section of docs/BENCHMARKS.md, from bench/fwknop.ts's results. Pure. */
import type { FwknopFloodStep, FwknopKeeperResults, FwknopResults } from './fwknop';
import { median } from './net';

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const k = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

function lat(name: string, r: FwknopKeeperResults | string): string {
  if (typeof r === 'string') return `| ${name} | ${r} | |`;
  const ok = r.latency.ok;
  return `| ${name} | ${ok.length ? `**${f(median(ok))}** (${f(Math.min(...ok))}–${f(Math.max(...ok))})` : 'n/a'} | ${ok.length}/${ok.length + r.latency.failed} |`;
}

function floodTable(ours: FwknopFloodStep[], theirs: FwknopKeeperResults | string): string {
  const fd = typeof theirs === 'string' ? [] : theirs.flood;
  const cell = (s: FwknopFloodStep | undefined): string =>
    (s ? `${s.legitOk}/${s.legitTried}${s.alive ? '' : ' (died)'} | ${f(s.legitMedianMs)} | ${f(s.cpuPct, 0)}%` : 'n/a | | ');
  const rows = ours.map((o, i) => {
    const q = fd[i];
    return `| ${o.kind} | ${o.targetPps ? k(o.targetPps) : 'max'} | ${k(o.achievedPps)} / ${k(q?.achievedPps ?? NaN)} | ${cell(o)} | ${cell(q)} |`;
  });
  return ['| flood of | target pps | achieved pps (ours run / fwknopd run) | ours: legit ok | ours: median ms | ours: CPU | fwknopd: legit ok | fwknopd: median ms | fwknopd: CPU |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |', ...rows].join('\n');
}

/** The lowest flood rate at which a keeper lost a legitimate datagram, in words. */
function firstLoss(name: string, steps: readonly FwknopFloodStep[]): string {
  const lost = steps.filter((s) => s.legitOk < s.legitTried);
  if (lost.length === 0) return `${name} kept every legitimate datagram in every row`;
  const s = lost.reduce((a, b) => ((a.targetPps || Infinity) <= (b.targetPps || Infinity) ? a : b));
  return `${name} first lost legitimate datagrams at ${s.targetPps ? `${k(s.targetPps)} pps` : 'the maximum rate'} (${s.kind}: ${s.legitOk}/${s.legitTried})`;
}

export function renderFwknop(r: FwknopResults): string {
  const params = r.params;
  const theirs = typeof r.fwknopd === 'string' ? r.fwknopd : firstLoss('fwknopd', r.fwknopd.flood);
  return `## 7. fwknop-format SPA: nftknock beside fwknopd

A \`spa.format: fwknop\` door (bench/fwknop.ts) and Debian's fwknopd ${r.fwknopdVersion} (fwknop-server,
default fwknopd.conf timing, pcap on the bridge, a grant being \`CMD_CYCLE_OPEN\` = \`nft add element\`
into our table, as knockd's \`start_command\` in section 1), one after the other in fresh namespaces,
with one stanza (\`fwknop --key-gen\`-sized keys, HMAC-SHA256). Legitimate datagrams are what
\`fwknop -A tcp/22 -a SRC --use-hmac\` sends (built with the builder that unit tests check against the
real client's datagrams), each from a fresh source it names.

### Latency, datagram to an accepted connection

| door keeper | median ms (min–max) | opened |
| --- | ---: | ---: |
${lat('nftknock, `spa.format: fwknop`', r.ours)}
${lat(`fwknopd ${r.fwknopdVersion}`, r.fwknopd)}

### Legitimate datagrams under a flood of garbage or forged datagrams

For ${params.floodSec} s the attacker namespace sends UDP datagrams to port 62201 from its own address
(a Node dgram sender; "max" is as fast as it goes beside the keeper on the shared cores): **garbage**
is random text in base64's alphabet of a real datagram's length (it passes every check before the
HMAC), **forged** are well-formed datagrams under another key pair. After 0.5 s up to ${params.legit}
legitimate datagrams follow one after another (fresh source each, 1 s limit each). CPU as in section 2.

${floodTable(r.ours.flood, r.fwknopd)}

- ${firstLoss('nftknock', r.ours.flood)}; ${theirs}.
- fwknopd sleeps \`PCAP_LOOP_SLEEP\` (100 ms by default) between reads of its capture, in line with
  its latency above and its low CPU: it loses datagrams to a full capture buffer, not to the cost of
  checking them.

### Rejection throughput in process (one core)

\`verifyFwknop\` on pre-built datagrams, ${params.inprocSec} s per case. Each stanza whose \`from\` holds the
source costs one HMAC per datagram (fwknop datagrams carry no key hint, and fwknopd also tries
every matching stanza): the cost grows with the stanzas of a door.

| case | per second | outcome |
| --- | ---: | --- |
${r.inproc.map((x) => `| ${x.name} | **${k(x.perSec)}** | ${x.outcome} |`).join('\n')}
`;
}
