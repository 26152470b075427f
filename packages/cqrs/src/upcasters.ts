import type { JsonValue } from '@albatross/protocol';
import { AlbatrossError } from '@albatross/protocol';

/** Lifts one event type's payload from schema version `from` to `from + 1`. */
export interface Upcaster {
  type: string;
  from: number;
  upcast(payload: JsonValue): JsonValue;
}

/**
 * Upcasters by event type and schema version, applied on read so old events
 * never need rewriting: an event stored at version 1 of a type with
 * upcasters 1→2 and 2→3 is read as version 3.
 */
export class UpcasterRegistry {
  readonly #byType = new Map<string, Map<number, Upcaster>>();

  constructor(upcasters: readonly Upcaster[] = []) {
    for (const upcaster of upcasters) this.add(upcaster);
  }

  /** Registers one step; two steps from the same version of a type are a programming error. */
  add(upcaster: Upcaster): this {
    if (!Number.isInteger(upcaster.from) || upcaster.from < 1) {
      throw new AlbatrossError('INVALID_MESSAGE', `upcaster for ${upcaster.type}: from must be an integer >= 1`);
    }
    let steps = this.#byType.get(upcaster.type);
    if (!steps) {
      steps = new Map();
      this.#byType.set(upcaster.type, steps);
    }
    if (steps.has(upcaster.from)) {
      throw new AlbatrossError('ALREADY_EXISTS', `upcaster for ${upcaster.type} from v${upcaster.from} exists`);
    }
    steps.set(upcaster.from, upcaster);
    return this;
  }

  /** The schema version events of `type` are read at (1 when it has no upcasters). */
  currentVersion(type: string): number {
    const steps = this.#byType.get(type);
    if (!steps) return 1;
    return Math.max(1, ...[...steps.keys()].map((from) => from + 1));
  }

  /** Lifts `payload` from `schemaVersion` as far as the registered steps go. */
  apply(type: string, schemaVersion: number, payload: JsonValue): { schemaVersion: number; payload: JsonValue } {
    const steps = this.#byType.get(type);
    if (!steps) return { schemaVersion, payload };
    let version = schemaVersion;
    let current = payload;
    for (let step = steps.get(version); step; step = steps.get(version)) {
      current = step.upcast(current);
      version += 1;
    }
    return { schemaVersion: version, payload: current };
  }
}
