// What a view loads from the backend, or why it could not: one shape for every such loader.
import { asError, type ErrorDto } from './ipc';

/** A command's result for a view. A failed reload keeps the value loaded before (shown with
 *  the error); a successful one clears the error. */
export class Loaded<T, A extends unknown[] = []> {
  value = $state<T | null>(null);
  error = $state<ErrorDto | null>(null);
  readonly #fetch: (...args: A) => Promise<T>;

  constructor(fetch: (...args: A) => Promise<T>) {
    this.#fetch = fetch;
  }

  /** An arrow function, so that it can be handed on as a callback. */
  load = async (...args: A): Promise<void> => {
    try {
      this.value = await this.#fetch(...args);
      this.error = null;
    } catch (e) {
      this.error = asError(e);
    }
  };
}
