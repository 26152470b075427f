import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../src/broker/memory.js';
import type { BrokerPublication } from '../../src/broker/types.js';
import { Hub, type Subscriber } from '../../src/fanout/hub.js';
import { silentLogger } from '../../src/log/logger.js';

class Recorder implements Subscriber {
  readonly offsets: number[] = [];
  deliver(publication: BrokerPublication): void {
    this.offsets.push(publication.offset);
  }
}

/** A broker whose subscribe can be held open and failed, counting (un)subscribes. */
class ControlledBroker extends MemoryBroker {
  subscribes = 0;
  unsubscribes = 0;
  failNext: Error | null = null;
  private gate: { promise: Promise<void>; open: () => void } | null = null;
  hold(): void {
    let open = (): void => {};
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.gate = { promise, open };
  }
  release(): void {
    this.gate?.open();
    this.gate = null;
  }
  override async subscribe(channel: string): Promise<void> {
    this.subscribes += 1;
    const failure = this.failNext;
    this.failNext = null;
    if (this.gate) await this.gate.promise;
    if (failure) throw failure;
    return super.subscribe(channel);
  }
  override async unsubscribe(channel: string): Promise<void> {
    this.unsubscribes += 1;
    return super.unsubscribe(channel);
  }
}

async function setup() {
  const broker = new ControlledBroker();
  const hub = new Hub(broker, silentLogger);
  await broker.start((publication) => hub.dispatch(publication));
  return { broker, hub };
}

describe('Hub', () => {
  it('one subscriber, then several, then one again: each gets every publication once; one broker subscription', async () => {
    const { broker, hub } = await setup();
    const [a, b, c] = [new Recorder(), new Recorder(), new Recorder()];
    await hub.add('t:x', a);
    await broker.publish('t:x', { eventType: 'e', payloadJson: '1' });
    await hub.add('t:x', b);
    await hub.add('t:x', c);
    expect(hub.subscriberCount('t:x')).toBe(3);
    await broker.publish('t:x', { eventType: 'e', payloadJson: '2' });
    hub.remove('t:x', a);
    hub.remove('t:x', c);
    expect(hub.subscriberCount('t:x')).toBe(1);
    await broker.publish('t:x', { eventType: 'e', payloadJson: '3' });
    expect(a.offsets).toEqual([1, 2]);
    expect(b.offsets).toEqual([2, 3]);
    expect(c.offsets).toEqual([2]);
    expect(broker.subscribes).toBe(1);
    expect(broker.unsubscribes).toBe(0);
    hub.remove('t:x', b);
    expect(hub.subscriberCount('t:x')).toBe(0);
    expect(hub.channelCount).toBe(0);
    expect(broker.unsubscribes).toBe(1);
    await broker.publish('t:x', { eventType: 'e', payloadJson: '4' });
    expect(b.offsets).toEqual([2, 3]);
  });

  it('removing a subscriber that is not there changes nothing', async () => {
    const { broker, hub } = await setup();
    const [a, stranger] = [new Recorder(), new Recorder()];
    await hub.add('t:x', a);
    hub.remove('t:x', stranger);
    hub.remove('t:other', a);
    expect(hub.subscriberCount('t:x')).toBe(1);
    expect(broker.unsubscribes).toBe(0);
  });

  it('a failed join fails every subscriber that waited for it and leaves nothing behind', async () => {
    const { broker, hub } = await setup();
    const [a, b] = [new Recorder(), new Recorder()];
    broker.hold();
    broker.failNext = new Error('down');
    const first = hub.add('t:x', a);
    const second = hub.add('t:x', b);
    broker.release();
    await expect(first).rejects.toThrow('down');
    await expect(second).rejects.toThrow('down');
    expect(hub.subscriberCount('t:x')).toBe(0);
    expect(hub.channelCount).toBe(0);
    // The next add joins anew.
    await hub.add('t:x', a);
    expect(broker.subscribes).toBe(2);
    expect(hub.subscriberCount('t:x')).toBe(1);
  });

  it('a failed join does not remove a channel joined anew after everyone left', async () => {
    const { broker, hub } = await setup();
    const [a, b] = [new Recorder(), new Recorder()];
    broker.hold();
    broker.failNext = new Error('down');
    const first = hub.add('t:x', a);
    hub.remove('t:x', a);
    broker.release();
    const second = hub.add('t:x', b);
    await expect(first).rejects.toThrow('down');
    await second;
    expect(hub.subscriberCount('t:x')).toBe(1);
    await broker.publish('t:x', { eventType: 'e', payloadJson: '1' });
    expect(b.offsets).toEqual([1]);
    expect(a.offsets).toEqual([]);
  });
});
