/** Removes the listener it was returned for. */
export type Unsubscribe = () => void;

/**
 * A tiny typed event emitter. A listener that throws never breaks the client:
 * its error is rethrown on a fresh task, where the platform reports it.
 */
export class Emitter<Events extends object> {
  private listeners: { [K in keyof Events]?: Set<(value: Events[K]) => void> } = {};

  /**
   * Adds a listener; returns a function that removes it.
   *
   * @example
   * const off = client.on('state', ({ old, new: now }) => render(now));
   * off();
   */
  on<K extends keyof Events>(name: K, listener: (value: Events[K]) => void): Unsubscribe {
    let set = this.listeners[name];
    if (!set) {
      set = new Set();
      this.listeners[name] = set;
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  protected emit<K extends keyof Events>(name: K, value: Events[K]): void {
    const set = this.listeners[name];
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(value);
      } catch (error) {
        setTimeout(() => {
          throw error;
        }, 0);
      }
    }
  }
}
