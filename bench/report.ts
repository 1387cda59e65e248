/** Renders docs/BENCHMARKS.md from the runner's results. Pure. */
import type { RateResult } from './inproc';
import { median, type FloodStep, type LatencyRuns, type MemoryStep, type RssParts } from './net';
import type { StartupRow } from './startup';
import { renderSpaWire, type SpaWireRow } from './spa-reject';
import type { FwknopResults } from './fwknop';
import { renderFwknop } from './fwknop-report';

export interface KeeperResults {
  /** Last knock sent → TCP connect accepted on the opened port. */
  knock: LatencyRuns;
  spa?: LatencyRuns;
  /** Last knock sent → the keeper's log line announcing the success (no port needed). */
  detect?: LatencyRuns;
  /** knockd only: the same with `start_command = /bin/true`. */
  detectTrue?: LatencyRuns;
  flood: FloodStep[];
  /** RSS of a fresh keeper, before any packet. */
  idleRssMB: number;
  /** The same reading by kind of memory (/proc/PID/smaps). */
  idleParts?: RssParts;
  memory: MemoryStep[];
}

/** One window of monitorEventLoopDelay: its raw percentiles (ms, the 10 ms timer interval included). */
export interface LoopWindow {
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: number;
  readonly knock: LatencyRuns;
}

export interface LoopResults {
  readonly grants: number;
  readonly resolutionMs: number;
  readonly empty: LoopWindow;
  readonly full: LoopWindow;
  readonly rulesetProblems: number;
}

export interface Results {
  quick: boolean;
  seconds: number;
  params: Record<string, unknown>;
  machine: { cpu: string; cores: number; kernel: string; node: string; nft: string; knockd: string; date: string; load: string; loadEnd?: string };
  inproc: { spa: RateResult[]; engine: RateResult[]; rssMB: number };
  spaWire?: SpaWireRow[];
  nftCost: { nftMs: number[]; trueMs: number[] };
  ours: KeeperResults;
  knockd: KeeperResults;
  kernel: KeeperResults | string;
  loop?: LoopResults;
  fwknop?: FwknopResults;
  /** node alone, same flags and environment, read like the keepers' idle memory. */
  nodeIdle?: RssParts;
  startup?: { rows: StartupRow[]; cache: string };
}

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const k = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

function spread(xs: readonly number[]): string {
  if (xs.length === 0) return 'n/a';
  return `**${f(median(xs))}** (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

function latRow(name: string, r: LatencyRuns | undefined): string {
  if (!r) return `| ${name} | n/a | | |`;
  return `| ${name} | ${spread(r.ok)} | ${r.ok.length}/${r.ok.length + r.failed} | ${f(percentile(r.ok, 0.9))} |`;
}

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

function floodTable(ours: FloodStep[], kd: FloodStep[]): string {
  const rows = ours.map((o, i) => {
    const q = kd[i];
    const cell = (s: FloodStep | undefined): string =>
      s ? `${s.legitOk}/${s.legitTried}${s.alive ? '' : ' (died)'} | ${f(s.legitMedianMs)} | ${f(s.cpuPct, 0)}%` : 'n/a | | ';
    return `| ${o.mode === 'ports' ? 'other ports' : 'knock ports'} | ${o.targetPps ? k(o.targetPps) : 'max'} | ${k(o.achievedPps)} / ${k(q?.achievedPps ?? NaN)} | ${cell(o)} | ${cell(q)} |`;
  });
  return ['| flood at | target pps | achieved pps (ours run / knockd run) | ours: legit ok | ours: median ms | ours: CPU | knockd: legit ok | knockd: median ms | knockd: CPU |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |', ...rows].join('\n');
}

/** Rows of section 2 where knockd kept a larger share of the legitimate knocks than ours, as a bullet. */
function floodVerdict(ours: FloodStep[], kd: FloodStep[]): string {
  const share = (s: FloodStep): number => (s.legitTried ? s.legitOk / s.legitTried : 0);
  const rows = ours.flatMap((o, i) => {
    const q = kd[i];
    return q && share(q) > share(o) ? [`${o.mode === 'ports' ? 'other ports' : 'knock ports'} at ${o.targetPps ? k(o.targetPps) : 'max'} pps (${q.legitOk}/${q.legitTried} against ${o.legitOk}/${o.legitTried})`] : [];
  });
  return rows.length
    ? `- **Floods**: knockd kept a larger share of the legitimate knocks in: ${rows.join('; ')}.`
    : '- **Floods**: in no row of section 2 did knockd keep a larger share of the legitimate knocks (this run).';
}

function memTable(ours: KeeperResults, kd: KeeperResults): string {
  const rows = ours.memory.map((m, i) => {
    const q = kd.memory[i];
    return `| ${k(m.sources)} | ${k(m.sentPps)} | ${f(m.rssMB, 1)} (peak ${f(m.hwmMB, 1)}) | ${q ? `${f(q.rssMB, 1)} (peak ${f(q.hwmMB, 1)})` : 'n/a'} |`;
  });
  return ['| distinct sources (cumulative) | sent at pps | nftknock RSS MB | knockd RSS MB |', '| ---: | ---: | ---: | ---: |',
    `| 0 (idle: a fresh keeper, before any packet) | | ${f(ours.idleRssMB, 1)} | ${f(kd.idleRssMB, 1)} |`, ...rows].join('\n');
}

function rateTable(rs: RateResult[]): string {
  return ['| case | per second | ops | heap growth MB | outcome |', '| --- | ---: | ---: | ---: | --- |',
    ...rs.map((r) => `| ${r.name} | **${k(r.perSec)}** | ${k(r.ops)} | ${f(r.heapGrowthMB)} | ${r.outcome} |`)].join('\n');
}

function loopSection(l: LoopResults | undefined): string {
  if (!l) return 'Not measured in this run.';
  const d = (x: number): string => f(Math.max(0, x - l.resolutionMs));
  const row = (name: string, w: LoopWindow): string =>
    `| ${name} | ${f(w.seconds, 0)} | ${d(w.p50)} | **${d(w.p99)}** | ${d(w.max)} | ${k(w.samples)} | ${spread(w.knock.ok)} (${w.knock.ok.length}/${w.knock.ok.length + w.knock.failed}) |`;
  return `One fresh daemon, two windows of the same length with the same knocks (fresh sources, each
opening 22/tcp): first with empty sets, then after ${k(l.grants)} grants were put into \`allowed4\` with one
\`nft -f\`. Each window is measured by \`perf_hooks.monitorEventLoopDelay\` (${l.resolutionMs} ms timer, preloaded by
the bench only: bench/loop-probe.ts) and holds at least two housekeeping health checks (every 5 s;
terse listings of sets and chains through the nft process, never set elements; the input chain's
rules counted at most ~2% of the time). The delay is how late the ${l.resolutionMs} ms timer fired (the
histogram's value minus ${l.resolutionMs} ms). The difference between the rows is what the grants cost;
what both rows share is this machine's other load.

| sets | window s | delay p50 ms | delay p99 ms | delay max ms | samples | knock-to-open ms (opened) |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${row('empty', l.empty)}
${row(`${k(l.grants)} grants`, l.full)}

${l.rulesetProblems ? `The daemon logged ${l.rulesetProblems} ruleset problem(s) during the windows: the figures include a repair.` : 'The health check found nothing to repair.'} Goal: p99 ≤ 10 ms with the full set.`;
}

/** What the load average can and cannot say about the run. */
function loadNote(m: Results['machine']): string {
  const start = Number(m.load.split(' ')[0]);
  const busy = Number.isFinite(start) && start >= m.cores / 2
    ? ` At the start the 1-minute load average was already ${f(start)} on ${m.cores} cores: the machine was busy in the
minute before the run, or still was, so treat the figures as upper bounds for latency and lower
bounds for throughput.`
    : '';
  return `**Load:** the bench loads the machine itself (senders, keepers, namespaces), so the load average
at the end says little about other work; anything else running at the same time raises latency and
lowers throughput.${busy} Compare runs with this in mind.`;
}

function idleBreakdown(r: Results): string {
  const p = r.ours.idleParts;
  const n = r.nodeIdle;
  if (!p) return '';
  return `Where the fresh daemon's ${f(p.total, 1)} MB are (/proc/PID/smaps): ${f(p.nodeBinary, 1)} MB pages of the node
binary (file pages, shared with any other node process on the host), ${f(p.ring, 1)} MB the capture ring
(section 2), ${f(p.anon, 1)} MB anonymous memory (V8's heap, malloc, thread stacks), ${f(p.other, 1)} MB shared
libraries (libc, libstdc++, libpcap, libnftables, koffi).${n ? ` Node alone, with the same flags and
environment, a timer keeping it alive and the same wait: ${f(n.total, 1)} MB (${f(n.nodeBinary, 1)} MB of it binary pages).` : ''}`;
}

function startupSection(r: Results): string {
  const s = r.startup;
  if (!s) return 'Not measured in this run.';
  const rows = s.rows.map((x) => `| ${x.name} | **${f(median(x.ms), 0)}** | ${f(percentile(x.ms, 0.9), 0)} | ${f(Math.min(...x.ms), 0)}–${f(Math.max(...x.ms), 0)} | ${x.ms.length}/${x.ms.length + x.failed}${x.error ? ` (${x.error})` : ''} |`);
  return `\`knockctl\` as installed: the launcher of the one-file bundle (src/cli/launch.ts) under node with the
installed flags; beside it Debian's \`knock\` client (C) sending the same knocks (knockd has no
counterpart of check-config), and the same commands on tsc's output, one file per module (what ran
before the bundle). bench/startup.ts runs each command 3 times unmeasured, then
${String(r.params.startupRuns)} times one after another, in the client namespace and a service's environment; the time is
from spawn to exit. The knock sends the three knocks to the server's address on the lab link;
check-config validates the bench's config and runs the daemon's runtime check (key files, SPA
identity). The launcher's code cache for these runs: **${s.cache}**.

| command | median ms | p90 ms | min–max ms | runs ok |
| --- | ---: | ---: | ---: | ---: |
${rows.join('\n')}

Goal: \`knockctl knock\` and \`check-config\` start and finish in ≤ 150 ms (median).`;
}

function latencyGap(r: Results): string {
  const kd = r.knockd.detect ? median(r.knockd.detect.ok) : NaN;
  const kdTrue = r.knockd.detectTrue ? median(r.knockd.detectTrue.ok) : NaN;
  const ours = r.ours.detect ? median(r.ours.detect.ok) : NaN;
  const kdOpen = median(r.knockd.knock.ok);
  return `What the rows say about the gap (medians of this run): knockd announces a complete sequence
${f(kdTrue)} ms after the last knock with \`start_command = /bin/true\` and ${f(kd)} ms with the \`nft\` command
(it logs before running the command), against ${f(ours)} ms for our daemon. So of knockd's ${f(kdOpen)} ms
to an open port, about ${f(kdTrue)} ms pass before knockd even sees the last knock, and the rest
(${f(kdOpen - kd)} ms) is its shell + \`nft\` grant. knockd opens its capture with a 50 ms read
timeout and without immediate mode (its source: \`pcap_open_live(dev, 65535, 0, 50, ...)\`), so
libpcap hands it a block of packets when the block fills or 50 ms after its first packet: a few
knocks never fill a block, and the last one waits up to 50 ms. Our capture runs in immediate mode.`;
}

export function renderReport(r: Results): string {
  const m = r.machine;
  const kernel = typeof r.kernel === 'string' ? `| kernel-only door (\`mode: kernel\`, no daemon) | ${r.kernel} | | |` : latRow('kernel-only door (`mode: kernel`, no daemon)', r.kernel.knock);
  const nftMed = median(r.nftCost.nftMs);
  const trueMed = median(r.nftCost.trueMs);
  return `# nftknock benchmarks

Generated by \`sudo make bench\`${r.quick ? ' in **quick mode** (`BENCH_QUICK=1`: fewer runs, smoke only)' : ''} (bench/run.ts); do not edit by hand.
Everything ran in throwaway network namespaces; the host's ruleset was not touched.

| | |
| --- | --- |
| date | ${m.date} |
| CPU | ${m.cpu}, ${m.cores} cores |
| kernel | ${m.kernel} |
| node | ${m.node} |
| nft | ${m.nft} |
| knockd | Debian ${m.knockd} |
| load average at start / end | ${m.load} / ${m.loadEnd ?? 'n/a'} |
| wall time of the run | ${f(r.seconds, 0)} s |

${loadNote(m)}

## Method: the same test for both door keepers

- **A fresh keeper for every phase and every flood row.** Each keeper (our daemon, knockd) is
  started anew, in its own freshly made namespaces, for the idle-memory reading, the latency runs,
  each row of the flood table and the memory steps; no row inherits another's backlog, heap or
  attempt list.
- **The same work.** Both keepers watch the same sequence (\`7000:tcp 8000:tcp 9000:udp\`,
  \`seq_timeout\` ${String(r.params.seqTimeout)} s, TCP knocks must be SYNs), get the same legitimate tries per row (up
  to ${String(r.params.legit)}, one after another while the flood lasts: a failed try takes its 1 s limit, so a keeper that
  fails gets fewer tries in the same window), from the same address pool (fresh addresses on the client's link, each used once per
  namespace set), and log the same way: stages and successes as lines on stdout, read by the bench
  (no log file, no syslog for either).
- **knockd as Debian ships it** (${m.knockd}), its defaults stated: capture on one interface
  (\`-i\`, here the bridge), \`pcap_open_live(snaplen 65535, promiscuous off, read timeout 50 ms)\`,
  libpcap's default 2 MiB buffer, no immediate mode; \`start_command\` runs through a shell.
  Our daemon runs as installed: the bundle's launcher (src/cli/launch.ts) under node with
  ${'`'}--max-semi-space-size=2${'`'}, default config except the doors.
- **A service's environment** for both keepers and every CLI run: PATH only, as systemd gives a
  service. The bench's own environment is not passed on: a variable such as \`NODE_EXTRA_CA_CERTS\`
  makes every node process parse a CA bundle at start (about 20 ms and a few MB on this machine).
- **Idle memory** of both is read from a fresh keeper ${f(Number(r.params.idleWaitMs) / 1000, 0)} s after start, before any packet.

## 1. Knock-to-open latency

**To an open port**: from the client's call that sends the last knock to an accepted TCP SYN on the
opened port (22), measured in the client namespace by \`bench/sender.c\` with CLOCK_MONOTONIC (read
before that call): it sends the knocks (TCP as a SYN from a non-blocking connect like knockd's
\`knock\`), then opens a fresh non-blocking connect every 0.2 ms, keeping the last 256 open, until
one completes (bounded to 2 s). Each run uses its own client source address. Resolution ≈ 0.2 ms.

**To the keeper's log line** ("detection"): from the same clock reading to the arrival, in the
bench process, of the keeper's stdout line announcing that source's success (ours: \`knock-success\`;
knockd: \`OPEN SESAME\`), read with the same monotonic clock. Needs no open port, so knockd is also
measured with \`start_command = /bin/true\`. Includes the pipe to the bench (well under 1 ms).
Milliseconds, median (min–max), p90.

| door keeper | median ms (min–max) | opened | p90 ms |
| --- | ---: | ---: | ---: |
${latRow('nftknock daemon, knock sequence, to an open port', r.ours.knock)}
${latRow('nftknock daemon, SPA (one UDP datagram), to an open port', r.ours.spa)}
${latRow('knockd (`start_command` = `nft add element` into our table), to an open port', r.knockd.knock)}
${kernel}
${latRow('nftknock daemon, detection (log line)', r.ours.detect)}
${latRow('knockd, detection (log line), `start_command` = `/bin/true`', r.knockd.detectTrue)}
${latRow('knockd, detection (log line), `start_command` = `nft add element`', r.knockd.detect)}

Goal for our daemon: median ≤ 5 ms.

${latencyGap(r)}

### What one nft process costs

The daemon applies grants through libnftables in its own process (src/io/nft-lib.ts, loaded on the
first grant); it falls back to one \`nft -j\` process per batch when the library cannot be loaded
(\`KNOCKCTL_NFT=process\` forces the fallback). bench/nft-cost.ts, ${r.nftCost.nftMs.length} runs in the server namespace:

| step | median ms (min–max) |
| --- | ---: |
| \`NftProcess.apply\` of a one-grant batch (our fallback) | ${spread(r.nftCost.nftMs)} |
| bare \`spawn('/bin/true')\` from Node, for scale | ${spread(r.nftCost.trueMs)} |

(${f(nftMed)} ms per process, of which ${f(trueMed)} ms is fork/exec alone.)

## 2. Legitimate knocks under a spoofed flood

A raw-socket sender (\`sendmmsg\`, batches of 64) floods the server with spoofed sources from
172.16.0.0/12 (rp_filter off in the server namespace) for ${String(r.params.floodSec)} s, either TCP SYNs to random
**other ports** or SYN/UDP to the **knock ports** themselves. After 0.5 s, up to
${String(r.params.legit)} legitimate clients knock one after another (fresh source address each, 1 s limit each).
The flood comes from an attacker namespace, the legitimate knocks from a client namespace; the
server's two links are bridged (one segment), and both send to the address the client knocks on.
Both keepers see every flood packet once: our daemon captures on \`any\` (its BPF filter drops the
other-ports flood in the kernel, and the copies the bridge's ports hand over besides the bridge:
src/daemon/capture-skip.ts), knockd watches the bridge. Every row starts a fresh keeper. CPU is the door keeper's utime+stime
over the legitimate-knock window, as % of one core. "max" is as fast as the sender goes on this
machine (it shares the 2 cores with the door keeper).

${floodTable(r.ours.flood, r.knockd.flood)}

A flood of the knock ports themselves passes our BPF filter by design (those packets are knocks,
and the filter cannot tell a spoofed one). Our capture keeps 160 bytes of headers per packet plus
the largest SPA datagram a door accepts (a snap length of ${String(r.params.snapLen)} bytes with this config) in a ring of
\`limits.capture_ring\` packets (the default ${k(Number(r.params.ringDefault))}, rounded up to whole pages: ${k(Number(r.params.ringPackets))} frames, ${f(Number(r.params.ringMiB), 1)} MiB): past the rate one JavaScript thread
decodes and steps (section 5, plus the capture's own cost), the ring overflows, the kernel drops
packets (counted as \`captureDropped\`) and legitimate knocks are lost with the flood. Goal: ≥ 95%
of legitimate knocks open at the sender's maximum rate.

## 3. Memory

Idle: a fresh keeper, before any packet. Then first knocks (SYN to 7000) from distinct spoofed
sources, cumulative, RSS after ${f(Number(r.params.settle) / 1000, 1)} s (VmRSS, VmHWM from /proc), one fresh keeper for the
steps. nftknock runs as installed, with the default \`limits.max_sources\` (100,000 partial attempts,
oldest evicted first); knockd has no limit. The sender's rate is what was sent, not what the keeper
managed to read: a keeper that falls behind loses packets in the kernel's capture buffer, which also
caps its memory.

${memTable(r.ours, r.knockd)}

${idleBreakdown(r)}

Goals: idle ≤ 64 MB; ≤ 150 MB at 1M sources.

## 4. Event loop with a full grant set

${loopSection(r.loop)}

## 5. SPA rejection throughput (in process, one core)

\`verifySpa\` on pre-built datagrams with 1, 100 and 1,000 clients on one door (bench/spa-reject.ts via
bench/inproc.ts, pinned with taskset, ${String(r.params.inprocSec)} s per case); heap growth is V8's heapUsed plus
typed-array memory after a full GC, minus before. Goal: garbage and forged datagrams rejected at
≥ 200,000/s with 1,000 clients, whatever the number of clients; the "no budget" rows are the cost of
the key agreement that the per-source budget bounds (2/s per source, 500/s in all).

${rateTable(r.inproc.spa)}

${renderSpaWire(r.spaWire)}

## 6. Knock engine throughput (in process, one core)

The daemon's per-frame path without capture and nft: \`DuplicateFilter\` + \`decodeFrame\` +
\`KnockEngine.onKnock\` on pre-built Ethernet frames.

${rateTable(r.inproc.engine)}

Heap growth as in section 5. The eviction case ends with 100,000 partial attempts held in the
table's typed-array slots.

${r.fwknop ? renderFwknop(r.fwknop) : ''}
## 8. CLI start-up

${startupSection(r)}

## Where knockd is better, and why

- **Idle memory.** knockd is a small C program (${f(r.knockd.idleRssMB, 1)} MB RSS idle here, against
  ${f(r.ours.idleRssMB, 1)} MB for the Node daemon); on a tiny router that matters more than any figure above.
  Of ours, node itself holds ${f(r.nodeIdle?.total ?? NaN, 1)} MB before any of our code runs, and the capture ring
  ${f(r.ours.idleParts?.ring ?? NaN, 1)} MB (section 3; ${f(Number(r.params.ringKnockOnlyMiB), 1)} MiB for a config with knock doors only, whose frames hold headers only).
- **No runtime to start or warm up**: knockd's per-packet path is native code with no GC and no JIT;
  our daemon's first packets after start run cold code.
- **Without libnftables** (the fallback transport) our grant path is one \`nft\` process per batch,
  the same order of cost as knockd's shell + \`nft\` (section 1).
${floodVerdict(r.ours.flood, r.knockd.flood)}
- Where knockd is worse shows in the flood and memory tables: its list of attempts is unbounded
  and scanned per packet, so a knock-port flood from many sources costs it time per packet that
  grows with the list.
`;
}
