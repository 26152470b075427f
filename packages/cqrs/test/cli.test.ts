import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../tests/support/cli.js';
import { createCommandHandler, projectionStatus } from '../src/index.js';
import { uid, usePostgresStore, waitFor } from './helpers.js';
import { ticket } from './ticket.js';

// `albatross worker` and `albatross projections` from the CLI's sources.
const PROJECTIONS = fileURLToPath(new URL('./fixtures/projections.ts', import.meta.url));
const CWD = fileURLToPath(new URL('..', import.meta.url));

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: CWD, env });

describe('albatross worker and projections (CLI)', () => {
  const pg = usePostgresStore();
  beforeAll(async () => {
    const handler = createCommandHandler(pg.store, ticket);
    for (let i = 0; i < 3; i++) await handler.handle(uid(), { type: 'open', title: `t${i}` });
  });

  it('worker runs the module’s projections until SIGTERM, then exits 0', async () => {
    const worker = run(['worker', '--lock-retry-ms', '200'], {
      DATABASE_URL: pg.url,
      ALBATROSS_PROJECTIONS: PROJECTIONS,
    });
    await waitFor(() => worker.out().includes('"worker started"'), 'worker started', 60_000);
    const head = await pg.store.headPosition();
    await waitFor(
      async () => (await projectionStatus(pg.store)).some((s) => s.name === 'ticket_summary' && s.position === head),
      'the worker to catch up',
      30_000,
    );
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('projections status and rebuild', async () => {
    const status = run(['projections', 'status', '--json', '--database-url', pg.url]);
    expect(await status.exited).toBe(0);
    const rows = status
      .out()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows).toEqual([expect.objectContaining({ name: 'ticket_summary', lag: 0, parked: 0 })]);

    const rebuild = run(['projections', 'rebuild', 'ticket_summary', '--projections', PROJECTIONS], {
      DATABASE_URL: pg.url,
    });
    expect(await rebuild.exited, rebuild.err()).toBe(0);
    expect(JSON.parse(rebuild.out().trim())).toMatchObject({ msg: 'rebuilt', name: 'ticket_summary', applied: 3 });
    expect(await pg.store.driver.query('SELECT count(*)::int AS n FROM tickets')).toEqual([{ n: 3 }]);
  });

  it('usage errors exit 2 with one line', async () => {
    for (const args of [
      ['worker', '--database-url', pg.url],
      ['worker', '--projections', PROJECTIONS],
      ['worker', '--database-url', 'mysql://x', '--projections', PROJECTIONS],
      ['worker', '--batch-size', 'lots', '--projections', PROJECTIONS],
      ['projections', 'rebuild', 'nope', '--projections', PROJECTIONS, '--database-url', pg.url],
      ['projections', 'rebuild', 'ticket_summary', '--projections', '/nonexistent/module.js', '--database-url', pg.url],
    ]) {
      const cli = run(args);
      expect(await cli.exited, `${args.join(' ')}: ${cli.err()}`).toBe(2);
      expect(cli.err().trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});
