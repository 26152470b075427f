import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SuiteConfig } from '../config.js';
import type { Fleet } from '../load/fleet.js';
import { measureStep, type StepRecord } from '../measure.js';
import { Publisher } from '../publisher.js';
import { round } from '../stats.js';
import { ADMIN_KEY, SECRET, startSystem } from '../systems.js';

export interface ProfileEntry {
  function: string;
  /** Where it lives: `node:…` internals, `<package>/<file>:<line>`, or a V8 pseudo-node. */
  location: string;
  selfMs: number;
  selfPercent: number;
}

export interface ProfileSummary {
  rate: number;
  step: StepRecord;
  totalMs: number;
  /** Self time grouped by where the code lives (gateway, ws, node internals, GC, idle…). */
  byArea: Record<string, number>;
  top: ProfileEntry[];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
  endTime?: number;
}

/** A location without machine-specific directories: from `node_modules/` or `packages/` on, or `node:`. */
export function shortLocation(url: string, line: number): string {
  if (url === '') return '(native)';
  const at = (marker: string): number => url.lastIndexOf(marker);
  let path = url;
  const nm = at('node_modules/');
  const pk = at('packages/');
  if (nm >= 0) path = url.slice(nm + 'node_modules/'.length);
  else if (pk >= 0) path = url.slice(pk);
  else if (!url.startsWith('node:')) path = url.split('/').slice(-2).join('/');
  return `${path}:${line + 1}`;
}

/** The area a profile entry belongs to, for the summary. */
export function areaOf(fn: string, url: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)') return 'program (V8/native outside JS)';
  if (url === '') return 'native (syscalls: writev/write, etc.)';
  if (url.startsWith('node:')) return 'node internals (net/stream/http)';
  if (url.includes('node_modules/ws/')) return 'ws library';
  if (url.includes('packages/server/')) return 'gateway code';
  if (url.includes('packages/protocol/')) return 'protocol code';
  if (url.includes('node_modules/')) return 'other dependencies';
  return 'other';
}

/**
 * Self time per function of a V8 .cpuprofile, top `limit`. With `window`,
 * only the samples of the `lengthUs` that ended `tailUs` before the end of the
 * profile (the measured step, not the start-up, connects and shutdown).
 */
export function summarizeProfile(
  profile: CpuProfile,
  limit = 15,
  window: { lengthUs: number; tailUs: number } = { lengthUs: Number.POSITIVE_INFINITY, tailUs: 0 },
): Omit<ProfileSummary, 'rate' | 'step'> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const stamps: number[] = [];
  let t = 0;
  for (const delta of profile.timeDeltas) {
    t += delta;
    stamps.push(t);
  }
  const to = (stamps[stamps.length - 1] ?? 0) - window.tailUs;
  const from = to - window.lengthUs;
  profile.samples.forEach((id, i) => {
    const at = stamps[i] ?? 0;
    if (at < from || at > to) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byKey = new Map<string, { fn: string; location: string; us: number }>();
  const byArea: Record<string, number> = {};
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = functionName || '(anonymous)';
    const location = shortLocation(url, lineNumber);
    const key = `${fn} ${location}`;
    const entry = byKey.get(key) ?? { fn, location, us: 0 };
    entry.us += us;
    byKey.set(key, entry);
    const area = areaOf(fn, url);
    byArea[area] = (byArea[area] ?? 0) + us;
    total += us;
  }
  const busy = total - (byArea.idle ?? 0);
  const top = [...byKey.values()]
    .filter((e) => e.fn !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((e) => ({
      function: e.fn,
      location: e.location,
      selfMs: round(e.us / 1000, 1),
      selfPercent: round((100 * e.us) / Math.max(1, busy), 1),
    }));
  const areas: Record<string, number> = {};
  for (const [k, v] of Object.entries(byArea)) areas[k] = round((100 * v) / Math.max(1, total), 1);
  return { totalMs: round(total / 1000, 0), byArea: areas, top };
}

/**
 * Runs the single-node gateway under `node --cpu-prof` with the usual 2,000
 * subscribers at `rate` deliveries/s (its saturation point) for
 * `cfg.profileMs`, stops it with SIGTERM so the profile is written, and
 * summarises self time.
 */
export async function runProfile(cfg: SuiteConfig, rate: number, fleet: Fleet): Promise<ProfileSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'albatross-prof-'));
  const system = await startSystem('albatross', {
    cpu: cfg.serverCpu,
    nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir],
  });
  const publisher = new Publisher(system.nodes[0] ?? { host: '127.0.0.1', port: 0 }, ADMIN_KEY);
  try {
    await fleet.connect(
      {
        proto: 'albatross',
        nodes: system.nodes,
        sources: cfg.sources,
        tenants: 0,
        secret: SECRET,
        subscribe: false,
        concurrency: 200,
        timeoutMs: 60_000,
      },
      cfg.subscribers,
    );
    const one = ['tenant:bench:updates'];
    const plan = (r: number, durationMs: number) => ({
      rate: r,
      fanout: cfg.subscribers,
      channelsOf: () => one,
      durationMs,
      drainMs: cfg.drainMs,
    });
    const ctx = { fleet, system, publisher };
    await measureStep(ctx, plan(rate / 2, cfg.warmupMs));
    const stepStart = performance.now();
    const step = await measureStep(ctx, plan(rate, cfg.profileMs));
    const stepEnd = performance.now();
    await fleet.closeAll();
    await system.stop(10_000);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the gateway wrote no .cpuprofile');
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    // Keep the samples of the step: the profile ends when the process exits, shortly after the step.
    const tailUs = (performance.now() - stepEnd) * 1000;
    const stepUs = (stepEnd - stepStart) * 1000;
    return { rate: Math.round(rate), step, ...summarizeProfile(profile, 15, { lengthUs: stepUs, tailUs }) };
  } finally {
    publisher.close();
    try {
      await fleet.closeAll();
    } finally {
      await system.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
