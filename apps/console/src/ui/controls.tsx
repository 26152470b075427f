import { Description, Dialog, DialogPanel, DialogTitle } from '@headlessui/react';
import { type ComponentPropsWithRef, type ReactNode, useId, useState } from 'react';
import type { ApiError } from '../api/errors.js';

const BUTTON = {
  primary: 'bg-sky-700 text-white hover:bg-sky-800 disabled:bg-zinc-400',
  secondary: 'bg-white text-zinc-900 ring-1 ring-inset ring-zinc-300 hover:bg-zinc-50 disabled:text-zinc-500',
  danger: 'bg-red-700 text-white hover:bg-red-800 disabled:bg-zinc-400',
} as const;

/** A button in one of the console's three looks. */
export function Button({
  variant = 'primary',
  className = '',
  type = 'button',
  ...props
}: ComponentPropsWithRef<'button'> & { variant?: keyof typeof BUTTON }): ReactNode {
  return (
    <button
      type={type}
      className={`inline-flex items-center justify-center gap-1 rounded-md px-3 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-700 ${BUTTON[variant]} ${className}`}
      {...props}
    />
  );
}

/** A labelled input with its error message wired to `aria-describedby`. */
export function TextField({
  label,
  error,
  hint,
  className = '',
  ...props
}: ComponentPropsWithRef<'input'> & { label: string; error?: string | undefined; hint?: string }): ReactNode {
  const id = useId();
  const described = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(' ');
  return (
    <div className={`flex flex-col gap-1 ${className}`}>
      <label htmlFor={id} className="text-sm font-medium text-zinc-800">
        {label}
      </label>
      <input
        id={id}
        aria-invalid={error ? true : undefined}
        aria-describedby={described || undefined}
        className="rounded-md border border-zinc-400 bg-white px-2 py-1.5 text-sm focus:border-sky-700 focus:outline-2 focus:outline-sky-700 aria-invalid:border-red-700"
        {...props}
      />
      {hint ? (
        <p id={`${id}-hint`} className="text-xs text-zinc-600">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${id}-error`} className="text-xs text-red-700">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** A labelled native select (keyboard and screen-reader behaviour for free). */
export function SelectField({
  label,
  children,
  className = '',
  ...props
}: ComponentPropsWithRef<'select'> & { label: string }): ReactNode {
  const id = useId();
  return (
    <div className={`flex flex-col gap-1 ${className}`}>
      <label htmlFor={id} className="text-sm font-medium text-zinc-800">
        {label}
      </label>
      <select id={id} className="rounded-md border border-zinc-400 bg-white px-2 py-1.5 text-sm" {...props}>
        {children}
      </select>
    </div>
  );
}

/** An error for people: the mapped message, the server's detail, and an optional action. */
export function ErrorAlert({ error, action }: { error: ApiError | null | undefined; action?: ReactNode }): ReactNode {
  if (!error) return null;
  return (
    <div role="alert" className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900">
      <p className="font-medium">{error.message}</p>
      {error.serverMessage && error.serverMessage !== error.message ? (
        <p className="mt-1 text-red-800">{error.serverMessage}</p>
      ) : null}
      {action ? <div className="mt-2">{action}</div> : null}
    </div>
  );
}

/** Loading placeholder with a live announcement. */
export function Loading({ what }: { what: string }): ReactNode {
  return (
    <p role="status" className="py-6 text-sm text-zinc-600">
      Loading {what}…
    </p>
  );
}

/** The empty state of a list. */
export function Empty({ children }: { children: ReactNode }): ReactNode {
  return (
    <p className="rounded-md border border-dashed border-zinc-300 p-6 text-center text-sm text-zinc-600">{children}</p>
  );
}

/** A dialog with a title, focus trapped inside and returned on close (Headless UI). */
export function Modal({
  open,
  onClose,
  title,
  description,
  children,
}: {
  open: boolean;
  onClose: () => void;
  title: string;
  description?: string;
  children: ReactNode;
}): ReactNode {
  return (
    <Dialog open={open} onClose={onClose} className="relative z-50">
      <div className="fixed inset-0 bg-black/40" aria-hidden="true" />
      <div className="fixed inset-0 flex items-center justify-center p-4">
        <DialogPanel className="w-full max-w-md rounded-lg bg-white p-5 shadow-xl">
          <DialogTitle className="text-lg font-semibold">{title}</DialogTitle>
          {description ? <Description className="mt-1 text-sm text-zinc-700">{description}</Description> : null}
          <div className="mt-4">{children}</div>
        </DialogPanel>
      </div>
    </Dialog>
  );
}

/** Asks before a destructive action. */
export function ConfirmDialog({
  open,
  title,
  description,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  description: string;
  confirmLabel: string;
  onConfirm: () => void;
  onClose: () => void;
}): ReactNode {
  return (
    <Modal open={open} onClose={onClose} title={title} description={description}>
      <div className="flex justify-end gap-2">
        <Button variant="secondary" onClick={onClose} autoFocus>
          Cancel
        </Button>
        <Button
          variant="danger"
          onClick={() => {
            onConfirm();
            onClose();
          }}
        >
          {confirmLabel}
        </Button>
      </div>
    </Modal>
  );
}

/**
 * Shows a secret exactly once (a new API key, an initial password): the value,
 * a copy button, and a warning that it cannot be shown again. The secret is
 * only in this component's props: closing the dialog drops it.
 */
export function CopyOnceDialog({
  open,
  title,
  label,
  secret,
  onClose,
}: {
  open: boolean;
  title: string;
  label: string;
  secret: string;
  onClose: () => void;
}): ReactNode {
  const [copied, setCopied] = useState(false);
  const id = useId();
  return (
    <Modal
      open={open}
      onClose={onClose}
      title={title}
      description="Copy it now: it is shown only this once and cannot be retrieved later."
    >
      <label htmlFor={id} className="text-sm font-medium">
        {label}
      </label>
      <div className="mt-1 flex gap-2">
        <input
          id={id}
          readOnly
          value={secret}
          data-testid="secret"
          className="min-w-0 flex-1 rounded-md border border-zinc-400 bg-zinc-50 px-2 py-1.5 font-mono text-sm"
          onFocus={(e) => e.currentTarget.select()}
        />
        <Button
          variant="secondary"
          onClick={() => {
            void navigator.clipboard?.writeText(secret).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          Copy
        </Button>
      </div>
      <p role="status" className="mt-1 h-4 text-xs text-green-800">
        {copied ? 'Copied to the clipboard.' : ''}
      </p>
      <div className="mt-3 flex justify-end">
        <Button onClick={onClose}>I have copied it</Button>
      </div>
    </Modal>
  );
}

/** Page heading plus actions. */
export function PageHeader({ title, children }: { title: string; children?: ReactNode }): ReactNode {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-2">
      <h1 className="text-xl font-semibold">{title}</h1>
      {children ? <div className="flex flex-wrap gap-2">{children}</div> : null}
    </div>
  );
}

/** Formats an ISO timestamp for people. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
