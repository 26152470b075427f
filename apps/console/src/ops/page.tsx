import { type ReactNode, useEffect, useMemo, useState } from 'react';
import { type ApiError, toApiError } from '../api/errors.js';
import { useServices } from '../services.js';
import { ErrorAlert, Loading, PageHeader } from '../ui/controls.js';
import { Sparkline } from './chart.js';
import { ConnectionRegistry } from './connections.js';
import { type GatewaySample, parsePrometheus, pointsOf, sampleOf } from './metrics.js';
import { ProjectionsPanel } from './projections.js';

/** How often the gateway's figures are read, ms. */
export const POLL_MS = 2000;
/** Samples kept (five minutes at the poll interval). */
export const KEEP = 150;

/** Polls the gateway's `/metrics` while mounted; keeps the last {@link KEEP} samples. */
function useGatewaySamples(): { samples: GatewaySample[]; error: ApiError | null } {
  const { api } = useServices();
  const [samples, setSamples] = useState<GatewaySample[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const text = await api.http.text('/metrics');
        if (stopped) return;
        setError(null);
        setSamples((prev) => [...prev, sampleOf(parsePrometheus(text), Date.now())].slice(-KEEP));
      } catch (err) {
        if (!stopped) setError(toApiError(err));
      }
      if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api]);
  return { samples, error };
}

/** PlatformAdmin: the gateway's live figures as small charts, its connection registry, the projections. */
export function OperationsPage(): ReactNode {
  const { samples, error } = useGatewaySamples();
  const points = useMemo(() => pointsOf(samples), [samples]);
  const times = useMemo(() => points.map((p) => p.t / 1000), [points]);
  const series = useMemo(
    () => ({
      connections: points.map((p) => p.connections),
      subscriptions: points.map((p) => p.subscriptions),
      publications: points.map((p) => p.publicationsPerSecond),
      deliveries: points.map((p) => p.deliveriesPerSecond),
    }),
    [points],
  );
  return (
    <section>
      <PageHeader title="Operations" />
      <p className="mb-3 text-sm text-zinc-700">
        Live figures of the gateway node that answers this page, read every {POLL_MS / 1000} s.
      </p>
      <ErrorAlert error={error} />
      {samples.length < 2 && !error ? <Loading what="the gateway's figures" /> : null}
      <div className="grid grid-cols-1 gap-3 md:grid-cols-2">
        <Sparkline label="Connections" unit="" times={times} values={series.connections} />
        <Sparkline label="Subscriptions" unit="" times={times} values={series.subscriptions} />
        <Sparkline label="Publications" unit="/s" times={times} values={series.publications} />
        <Sparkline label="Deliveries" unit="/s" times={times} values={series.deliveries} />
      </div>
      <ConnectionRegistry />
      <ProjectionsPanel />
    </section>
  );
}
