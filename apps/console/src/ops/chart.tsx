import { type ReactNode, useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Seconds of history a chart shows. */
export const WINDOW_S = 300;

/**
 * A small live line chart (uPlot). The chart is decoration for sighted
 * users: the current value is in the text next to it, and the chart itself
 * is an image with a label saying the same.
 */
export function Sparkline({
  label,
  unit,
  times,
  values,
}: {
  label: string;
  unit: string;
  /** Seconds since the Unix epoch. */
  times: readonly number[];
  values: readonly number[];
}): ReactNode {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(200, el.clientWidth);
    plot.current = new uPlot(
      {
        width,
        height: 120,
        legend: { show: false },
        cursor: { show: false },
        axes: [
          { stroke: '#3f3f46', size: 30 },
          { stroke: '#3f3f46', size: 48 },
        ],
        series: [{}, { stroke: '#0369a1', width: 2, fill: 'rgba(3,105,161,0.08)' }],
        scales: {
          // Always the last WINDOW seconds, so a fresh page does not stretch one point over years.
          x: { time: true, range: (_u, _min, max) => [max - WINDOW_S, max] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.2)] },
        },
      },
      [[], []],
      el,
    );
    const resize = () => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 120 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData([[...times], [...values]]);
  }, [times, values]);
  const current = values.at(-1);
  const text = current === undefined ? '—' : `${Number.isInteger(current) ? current : current.toFixed(1)} ${unit}`;
  return (
    <figure className="min-w-0 rounded-md border border-zinc-200 bg-white p-3">
      <figcaption className="flex items-baseline justify-between gap-2">
        <span className="text-sm font-medium">{label}</span>
        <span className="text-lg font-semibold tabular-nums" data-testid={`ops-${label}`}>
          {text}
        </span>
      </figcaption>
      <div
        ref={box}
        role="img"
        aria-label={`${label}: ${text}, last minutes`}
        className="mt-2 w-full overflow-hidden"
      />
    </figure>
  );
}
