import { evaluateTargets, isSkipped, medianRound, type Results, summarizeRuns } from './summary.js';
import { lineChart, type Series } from './svg.js';
import { LABELS, type SystemName } from './systems.js';

const n = (v: number | null | undefined, digits = 0): string =>
  v == null || !Number.isFinite(v) ? '–' : v.toLocaleString('en', { maximumFractionDigits: digits });
const kib = (v: number | null | undefined): string => (v == null ? '–' : (v / 1024).toFixed(1));

/** The markdown report: main table, targets, the other scenarios, and what ran where. */
export function markdown(results: Results, command: string): string {
  const sums = summarizeRuns(results.fanout, results.memory);
  const lines: string[] = [];
  const meta = results.meta;
  lines.push(
    `Command: \`${command}\` — ${meta.rounds} interleaved round(s), medians; server processes pinned to core ${meta.serverCpu ?? '(not pinned)'}, load generator (${meta.workers} processes + coordinator) on core ${meta.loadCpu ?? '(not pinned)'}; one channel, ${meta.payloadBytes}-byte payloads, ${meta.subscribers} subscribers; ${meta.date}.`,
  );
  lines.push('');
  lines.push(
    '| system | highest deliveries/s with p99 <= 100 ms (2,000 subs) | server CPU per delivery | load-gen CPU at that point | p99 at 100k deliveries/s attempted | memory per connection (2,000 / 10,000 subs) |',
  );
  lines.push('|---|---|---|---|---|---|');
  for (const s of sums) {
    const perRound = s.saturationPerRound.map((v) => n(v)).join(', ');
    const flag = s.loadGenLimited
      ? ' (load generator >= 90% busy at or just above it)'
      : s.searchBounded
        ? ' (search bound reached)'
        : '';
    lines.push(
      `| ${LABELS[s.system]} | ${n(s.saturation)}${flag} [rounds: ${perRound}] | ${n(s.usPerDelivery, 2)} µs | ${n(
        s.loadGenShare === null ? null : s.loadGenShare * 100,
      )}% | ${n(s.p99At100k, 1)} ms${s.lostAt100k ? ` (lost ${n(s.lostAt100k)})` : ''} | ${kib(s.memory['2000'])} / ${kib(s.memory['10000'])} KiB |`,
    );
  }
  lines.push('');
  lines.push(
    'At each saturation point (medians over rounds): CPU in cores used by the server processes, by the load generator, and by processes outside the bench (other work on this shared machine), and frames per socket read on the load-generator side (about the frames each server write carried).',
  );
  lines.push('');
  lines.push('| system | server CPU | load-gen CPU | load-gen CPU per delivery | other processes | frames per read |');
  lines.push('|---|---|---|---|---|---|');
  for (const s of sums)
    lines.push(
      `| ${LABELS[s.system]} | ${n(s.serverShare, 2)} | ${n(s.loadGenShare, 2)} | ${n(s.loadGenUsPerDelivery, 2)} µs | ${n(s.foreignShare, 2)} | ${n(s.framesPerRead, 2)} |`,
    );
  lines.push('');
  lines.push(
    "Search and fixed steps: which search decided the first table, the strict saturation point (it and every lower step passed), p99 at fixed attempted rates, and frames per socket write by the gateway's own counters at the saturation point.",
  );
  lines.push('');
  const fixedRates = [...new Set(sums.flatMap((s) => Object.keys(s.p99At)))].sort((a, b) => Number(a) - Number(b));
  lines.push(
    `| system | search | strict saturation | server CPU at the strict point | ${fixedRates.map((r) => `p99 at ${Number(r) / 1000}k`).join(' | ')} | frames per write (server) | count mismatches |`,
  );
  lines.push(`|---|---|---|---|${fixedRates.map(() => '---|').join('')}---|---|`);
  for (const s of sums)
    lines.push(
      `| ${LABELS[s.system]} | ${s.searchMode} | ${n(s.strictSaturation)} | ${n(s.strictUsPerDelivery, 2)} µs | ${fixedRates.map((r) => `${n(s.p99At[r], 1)} ms`).join(' | ')} | ${n(s.serverFramesPerWrite, 2)} | ${s.system.startsWith('albatross') ? s.mismatches : '–'} |`,
    );
  lines.push('');
  const at100k = sums.filter((s) => s.system.startsWith('albatross') && s.p99At100k !== null);
  if (at100k.length > 0) {
    lines.push(
      "The fixed step at 100k deliveries/s attempted, by the gateway's own counters (medians): frames per socket write, the mean coalesced flush and the share of the step spent in flushes (the socket writes' duty cycle). A frame published while a flush runs waits for it, then for the hold, then for its own socket's turn in the next flush.",
    );
    lines.push('');
    lines.push("| system | p50 | p99 | frames per write | mean flush | flushes' share of the step |");
    lines.push('|---|---|---|---|---|---|');
    for (const s of at100k)
      lines.push(
        `| ${LABELS[s.system]} | ${n(s.at100k.p50, 1)} ms | ${n(s.p99At100k, 1)} ms | ${n(s.at100k.framesPerWrite, 2)} | ${n(s.at100k.flushMs, 2)} ms | ${n(s.at100k.flushShare, 2)} |`,
      );
    lines.push('');
  }
  lines.push('### Targets (issues 6 and 14)');
  lines.push('');
  lines.push('| target | goal | measured | ratio | met |');
  lines.push('|---|---|---|---|---|');
  for (const t of evaluateTargets(results)) {
    const met = t.met === null ? 'n/a' : t.met ? 'yes' : '**no**';
    lines.push(
      `| ${t.target} | ${t.goal} | ${t.measured}${t.note ? ` (${t.note})` : ''} | ${t.ratio ?? '–'} | ${met} |`,
    );
  }
  lines.push('');
  lines.push('### Other scenarios');
  lines.push('');
  if (isSkipped(results.channels)) lines.push(`- Many channels: ${results.channels.skipped}`);
  else {
    for (const many of summarizeRuns(results.channels))
      lines.push(
        `- Many channels, ${LABELS[many.system]} (1,000 tenants x 10 subscribers, ${meta.channelsPerCall} channels per publish call): ${n(many.saturation)} deliveries/s [rounds: ${many.saturationPerRound.map((v) => n(v)).join(', ')}], ${n(many.usPerDelivery, 2)} µs server CPU per delivery, load generator ${n((many.loadGenShare ?? 0) * 100)}%.`,
      );
  }
  if (isSkipped(results.cross)) lines.push(`- Cross-node: ${results.cross.skipped}`);
  else
    for (const s of summarizeRuns(results.cross))
      lines.push(
        `- Cross-node, ${LABELS[s.system]} (2,000 subscribers spread over the nodes, publications into node 1): ${n(s.saturation)} deliveries/s [rounds: ${s.saturationPerRound.map((v) => n(v)).join(', ')}], ${n(s.usPerDelivery, 2)} µs server CPU per delivery (nodes + Redis).`,
      );
  for (const c of results.connectStorm)
    lines.push(
      `- Connect storm, ${LABELS[c.system]}${c.system.startsWith('albatross') ? ' (first-frame JWT, verified; counted at `welcome`)' : ' (no auth)'}: ${n(c.connected)} of ${n(c.clients)} in ${c.seconds} s = ${n(c.connectsPerSecond)} connects/s, ${n(c.serverUsPerConnect)} µs server CPU per connect, load generator ${n(c.loadGenCpuShare * 100)}%.`,
    );
  const re = results.reconnectStorm;
  if (isSkipped(re)) lines.push(`- Reconnect storm: ${re.skipped}`);
  else
    lines.push(
      `- Reconnect storm: ${n(re.clients)} clients dropped at once, ${re.missed} publications missed, all reconnecting together with \`since\`: ${n(re.recovered)} recovered in ${re.seconds} s, ${n(re.replayed)} events replayed, gaps ${re.gaps}, duplicates ${re.dups}, incomplete ${re.incomplete}, live delivery afterwards ${re.liveAfter ? 'complete' : '**incomplete**'}.`,
    );
  const mm = results.memoryMax;
  if (isSkipped(mm)) lines.push(`- Idle connections on one Albatross node: ${mm.skipped}`);
  else {
    const p = mm.points[mm.points.length - 1];
    lines.push(
      `- Idle connections on one Albatross node: ${n(p?.connections)} held (${mm.failed} failed), ${kib(p?.bytesPerConnection)} KiB each, RSS ${n(p?.rssMiB)} MiB.`,
    );
  }
  const prof = results.profile;
  if (!isSkipped(prof)) {
    lines.push('');
    lines.push(
      `### CPU profile of the gateway at ${n(prof.rate)} deliveries/s attempted (achieved ${n(prof.step.achieved)}, p99 ${prof.step.latency.p99} ms)`,
    );
    lines.push('');
    lines.push(
      `Self time by area: ${Object.entries(prof.byArea)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}%`)
        .join(', ')}.`,
    );
    lines.push('');
    lines.push('| function | where | self ms | % of busy |');
    lines.push('|---|---|---|---|');
    for (const e of prof.top) lines.push(`| \`${e.function}\` | ${e.location} | ${e.selfMs} | ${e.selfPercent} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** deliveries/s and p99 vs attempted rate, one series per system (its median round). */
export function charts(results: Results): Record<string, string> {
  const systems = [...new Set(results.fanout.map((r) => r.system))] as SystemName[];
  const crossSystems = isSkipped(results.cross) ? [] : [...new Set(results.cross.map((r) => r.system))];
  const seriesOf = (pick: (s: { attempted: number; achieved: number; p99Ms: number }) => number): Series[] => {
    const out: Series[] = [];
    for (const name of systems) {
      const run = medianRound(results.fanout, name);
      if (!run) continue;
      const steps = [...run.search.steps, ...(run.fixedSteps ?? (run.fixed ? [run.fixed] : []))];
      out.push({ name: LABELS[name], points: steps.map((s) => [s.attempted, pick(s)]) });
    }
    if (!isSkipped(results.cross))
      for (const name of crossSystems) {
        const run = medianRound(results.cross, name);
        if (run) out.push({ name: LABELS[name], points: run.search.steps.map((s) => [s.attempted, pick(s)]) });
      }
    return out;
  };
  return {
    'deliveries.svg': lineChart({
      title: 'Deliveries/s received vs attempted (2,000 subscribers, one channel)',
      xLabel: 'attempted deliveries/s (log scale)',
      yLabel: 'received deliveries/s (log scale)',
      series: seriesOf((s) => s.achieved),
      diagonal: true,
      logX: true,
    }),
    'p99.svg': lineChart({
      title: 'p99 publish-to-receive latency vs attempted rate',
      xLabel: 'attempted deliveries/s (log scale)',
      yLabel: 'p99 latency (ms, log scale)',
      series: seriesOf((s) => s.p99Ms),
      logY: true,
      logX: true,
      refY: { value: 100, label: 'p99 limit 100 ms' },
    }),
  };
}
