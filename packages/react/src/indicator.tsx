import { type AlbatrossClientError, type ConnectionState, describeError } from '@albatross/client';
import { type CSSProperties, type ReactNode, useEffect, useState } from 'react';
import { useConnectionState } from './hooks.js';

/** Props of {@link ConnectionIndicator}. */
export interface ConnectionIndicatorProps {
  /** Extra class names; the element always has `albatross-indicator` and `albatross-indicator--{state}`. */
  className?: string;
  /** Apply the built-in look (coloured dot, pill); off by default so the app's CSS decides. */
  defaultStyle?: boolean;
  /** Hide this long after connecting, ms (default 3000); `null` never hides. */
  hideAfterMs?: number | null;
  /** Text per state; a retry adds "(attempt N)" and the last error's message. */
  labels?: Partial<Record<ConnectionState, string>>;
}

/**
 * The words shown: the state, the retry attempt, and what went wrong last
 * (a refused upgrade, a bad token, a rejected channel), so a failure never
 * looks like a plain "Connecting…" or "Connected".
 */
function textOf(label: string, state: ConnectionState, attempt: number, error: AlbatrossClientError | null): string {
  const tried = state === 'connecting' && attempt > 0 ? `${label} (attempt ${attempt})` : label;
  if (!error || state === 'disconnected') return tried;
  const channel = error.details.channel;
  if (state === 'connected')
    return channel === undefined ? tried : `${tried}, but "${channel}" was refused (${error.code})`;
  return `${tried}: ${error.message}`;
}

const LABELS: Record<ConnectionState, string> = {
  connected: 'Connected',
  connecting: 'Connecting…',
  error: 'Connection error',
  disconnected: 'Disconnected',
};

/** Dot colours of the default style: green, yellow, red, grey. */
export const INDICATOR_COLORS: Record<ConnectionState, string> = {
  connected: '#16a34a',
  connecting: '#ca8a04',
  error: '#dc2626',
  disconnected: '#9ca3af',
};

const PILL: CSSProperties = {
  display: 'inline-flex',
  alignItems: 'center',
  gap: '0.4em',
  padding: '0.2em 0.7em',
  borderRadius: '999px',
  background: '#f4f4f5',
  color: '#18181b',
  font: '12px/1.4 system-ui, sans-serif',
};

/**
 * The connection state for people: a live region (`role="status"`) whose
 * text says the state (never colour alone), the retry attempt while
 * reconnecting, the last error (text, and in full as `title`, with the
 * close code and what to check), and that hides itself 3 s after connecting
 * (not while a channel is refused). Unstyled unless
 * `defaultStyle`; style it through `.albatross-indicator--connected` etc. or
 * `[data-state]`.
 *
 * @example
 * <ConnectionIndicator defaultStyle />
 * // <div role="status" class="albatross-indicator albatross-indicator--connecting" data-state="connecting">
 * //   <span class="albatross-indicator__dot" aria-hidden="true"></span>
 * //   <span class="albatross-indicator__text">Connecting… (attempt 2)</span>
 * // </div>
 */
export function ConnectionIndicator({
  className,
  defaultStyle = false,
  hideAfterMs = 3000,
  labels,
}: ConnectionIndicatorProps): ReactNode {
  const { state, attempt, error } = useConnectionState();
  const [hidden, setHidden] = useState(false);
  // A connected client with a refused channel is not "all good": stay visible.
  const problem = state === 'connected' ? error?.details.channel !== undefined : error !== null;
  useEffect(() => {
    setHidden(false);
    if (state !== 'connected' || hideAfterMs === null || problem) return;
    const timer = setTimeout(() => setHidden(true), hideAfterMs);
    return () => clearTimeout(timer);
  }, [state, hideAfterMs, problem]);
  const label = labels?.[state] ?? LABELS[state];
  const text = textOf(label, state, attempt, error);
  const classes = ['albatross-indicator', `albatross-indicator--${state}`, className].filter(Boolean).join(' ');
  // The live region stays mounted while hidden, so the next change is still announced.
  return (
    <div
      role="status"
      aria-live="polite"
      className={classes}
      data-state={state}
      data-attempt={attempt}
      data-error-code={problem && error ? error.code : undefined}
      data-hidden={hidden ? '' : undefined}
      title={problem && error ? describeError(error) : undefined}
      style={defaultStyle && !hidden ? PILL : undefined}
    >
      {hidden ? null : (
        <>
          <span
            className="albatross-indicator__dot"
            aria-hidden="true"
            style={
              defaultStyle
                ? {
                    width: '0.6em',
                    height: '0.6em',
                    borderRadius: '50%',
                    background: INDICATOR_COLORS[state],
                  }
                : undefined
            }
          />
          <span className="albatross-indicator__text">{text}</span>
        </>
      )}
    </div>
  );
}
