import { zodResolver } from '@hookform/resolvers/zod';
import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { useForm } from 'react-hook-form';
import { Navigate, useLocation, useNavigate } from 'react-router';
import {
  type ChangePasswordRequest,
  ChangePasswordRequestSchema,
  type LoginRequest,
  LoginRequestSchema,
} from '../api/contract.js';
import { type ApiError, toApiError } from '../api/errors.js';
import { useServices, useTokens } from '../services.js';
import { Button, ErrorAlert, TextField } from '../ui/controls.js';

function AuthCard({ title, children }: { title: string; children: ReactNode }): ReactNode {
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <div className="w-full max-w-sm rounded-lg bg-white p-6 shadow">
        <p className="mb-1 text-sm font-semibold tracking-wide text-sky-800">Albatross</p>
        <h1 className="mb-4 text-xl font-semibold">{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** `POST /api/auth/login`; goes on to the forced password change when the account needs it. */
export function LoginPage(): ReactNode {
  const { api, session } = useServices();
  const tokens = useTokens();
  const navigate = useNavigate();
  const location = useLocation();
  const queryClient = useQueryClient();
  const [error, setError] = useState<ApiError | null>(null);
  const form = useForm<LoginRequest>({
    resolver: zodResolver(LoginRequestSchema),
    defaultValues: { email: '', password: '' },
  });
  if (tokens && !tokens.mustChangePassword) return <Navigate to="/" replace />;
  const from = (location.state as { from?: string } | null)?.from ?? '/';
  const submit = form.handleSubmit(async (values) => {
    setError(null);
    try {
      const answer = await api.login(values);
      queryClient.clear();
      session.setFromResponse(answer);
      navigate(answer.must_change_password ? '/change-password' : from, { replace: true });
    } catch (err) {
      setError(toApiError(err));
    }
  });
  return (
    <AuthCard title="Sign in">
      <form onSubmit={submit} noValidate className="flex flex-col gap-3">
        <TextField
          label="Email"
          type="email"
          autoComplete="username"
          error={form.formState.errors.email?.message}
          {...form.register('email')}
        />
        <TextField
          label="Password"
          type="password"
          autoComplete="current-password"
          error={form.formState.errors.password?.message}
          {...form.register('password')}
        />
        <ErrorAlert error={error} />
        <Button type="submit" disabled={form.formState.isSubmitting}>
          {form.formState.isSubmitting ? 'Signing in…' : 'Sign in'}
        </Button>
      </form>
    </AuthCard>
  );
}

/**
 * Password change form: the forced one after a one-time password (before
 * anything else works), and the voluntary one on "My account".
 */
export function PasswordForm({ onDone }: { onDone: () => void }): ReactNode {
  const { api, session } = useServices();
  const [error, setError] = useState<ApiError | null>(null);
  const form = useForm<ChangePasswordRequest>({
    resolver: zodResolver(ChangePasswordRequestSchema),
    defaultValues: { current_password: '', new_password: '' },
  });
  const submit = form.handleSubmit(async (values) => {
    setError(null);
    try {
      // The change revokes the old refresh tokens and answers new ones: keep the session on them.
      session.setFromResponse(await api.changePassword(values));
      form.reset();
      onDone();
    } catch (err) {
      setError(toApiError(err));
    }
  });
  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-3">
      <TextField
        label="Current password"
        type="password"
        autoComplete="current-password"
        error={form.formState.errors.current_password?.message}
        {...form.register('current_password')}
      />
      <TextField
        label="New password"
        type="password"
        autoComplete="new-password"
        hint="At least 12 characters."
        error={form.formState.errors.new_password?.message}
        {...form.register('new_password')}
      />
      <ErrorAlert error={error} />
      <Button type="submit" disabled={form.formState.isSubmitting}>
        {form.formState.isSubmitting ? 'Saving…' : 'Change password'}
      </Button>
    </form>
  );
}

/** The forced change after a one-time password (also reachable by hand); the answer's tokens end `must_change_password`. */
export function ChangePasswordPage(): ReactNode {
  const tokens = useTokens();
  const navigate = useNavigate();
  if (!tokens) return <Navigate to="/login" replace />;
  return (
    <AuthCard title="Choose a new password">
      <p className="mb-3 text-sm text-zinc-700">
        {tokens.mustChangePassword
          ? 'You signed in with a one-time password. Choose your own before you continue.'
          : 'Change your password.'}
      </p>
      <PasswordForm onDone={() => navigate('/', { replace: true })} />
    </AuthCard>
  );
}
