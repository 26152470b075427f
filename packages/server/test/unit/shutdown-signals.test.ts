import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { handleShutdownSignals } from '../../src/lifecycle/signals.js';
import { silentLogger } from '../../src/log/logger.js';

/** A process stand-in: signals are emitted by hand, exits recorded. */
class FakeProcess extends EventEmitter {
  exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
  signal(name: NodeJS.Signals): void {
    this.emit(name, name);
  }
}

function setUp(shutdown: () => Promise<void>) {
  const target = new FakeProcess();
  let clock = 1_000_000;
  let calls = 0;
  handleShutdownSignals({
    logger: silentLogger,
    shutdown: () => {
      calls += 1;
      return shutdown();
    },
    target,
    now: () => clock,
  });
  return {
    target,
    advance: (ms: number) => {
      clock += ms;
    },
    calls: () => calls,
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('handleShutdownSignals', () => {
  it('runs the shutdown once and exits 0 when it is done; a second signal right after is ignored', async () => {
    let finish: () => void = () => {};
    const run = setUp(() => new Promise<void>((resolve) => (finish = resolve)));
    run.target.signal('SIGINT');
    run.advance(5);
    run.target.signal('SIGTERM');
    run.advance(994);
    run.target.signal('SIGINT');
    await settle();
    expect(run.calls()).toBe(1);
    expect(run.target.exits).toEqual([]);
    finish();
    await settle();
    expect(run.target.exits).toEqual([0]);
  });

  it('exits 1 at once on a second signal 1 s or more after the first', async () => {
    const run = setUp(() => new Promise<void>(() => {}));
    run.target.signal('SIGTERM');
    run.advance(1000);
    run.target.signal('SIGTERM');
    expect(run.target.exits).toEqual([1]);
    await settle();
    expect(run.calls()).toBe(1);
  });

  it('exits 1 when the shutdown fails, asynchronously or at once', async () => {
    const rejecting = setUp(() => Promise.reject(new Error('broker close failed')));
    rejecting.target.signal('SIGTERM');
    await settle();
    expect(rejecting.target.exits).toEqual([1]);
    const throwing = setUp(() => {
      throw new Error('no server to close');
    });
    expect(() => throwing.target.signal('SIGTERM')).not.toThrow();
    await settle();
    expect(throwing.target.exits).toEqual([1]);
  });
});
