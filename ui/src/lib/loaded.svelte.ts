// What a view loads from the backend, or why it could not: one shape for every such loader.
import { asError, type ErrorDto } from './ipc';

/** A command's result for a view. A failed reload keeps the value loaded before (shown with
 *  the error); a successful one clears the error. Loads may overlap (a focus, a poll and an
 *  event at once): an answer older than one already shown is dropped, as what it read may
 *  have changed since. */
export class Loaded<T, A extends unknown[] = []> {
  value = $state<T | null>(null);
  error = $state<ErrorDto | null>(null);
  readonly #fetch: (...args: A) => Promise<T>;
  #started = 0;
  #shown = $state(0);

  constructor(fetch: (...args: A) => Promise<T>) {
    this.#fetch = fetch;
  }

  /** Neither a value nor an error yet. */
  get pending(): boolean {
    return this.#shown === 0;
  }

  /** The value this load brought, or null when it failed or a later load's answer came first.
   *  An arrow function, so that it can be handed on as a callback. */
  load = async (...args: A): Promise<T | null> => {
    const ticket = ++this.#started;
    let value: T;
    try {
      value = await this.#fetch(...args);
    } catch (e) {
      if (ticket < this.#shown) return null;
      this.#shown = ticket;
      this.error = asError(e);
      return null;
    }
    if (ticket < this.#shown) return null;
    this.#shown = ticket;
    this.value = value;
    this.error = null;
    return value;
  };
}
