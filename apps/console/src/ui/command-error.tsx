import { type QueryKey, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import type { ApiError } from '../api/errors.js';
import { Button, ErrorAlert } from './controls.js';

/**
 * The error of a rolled-back command; a `CONCURRENCY_CONFLICT` offers to
 * reload the newer version the other person saved.
 */
export function CommandError({
  error,
  keys,
  onDismiss,
}: {
  error: ApiError | null;
  keys: readonly QueryKey[];
  onDismiss: () => void;
}): ReactNode {
  const queryClient = useQueryClient();
  if (!error) return null;
  const action =
    error.code === 'CONCURRENCY_CONFLICT' ? (
      <Button
        variant="secondary"
        onClick={() => {
          for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
          onDismiss();
        }}
      >
        Reload the newer version
      </Button>
    ) : (
      <Button variant="secondary" onClick={onDismiss}>
        Dismiss
      </Button>
    );
  return <ErrorAlert error={error} action={action} />;
}
