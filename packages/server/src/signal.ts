/**
 * One kind of notification with any number of listeners: `subscribe` returns the unsubscribe, so
 * whoever listens also stops listening (a second subscriber never replaces the first, as an assigned
 * callback slot would). Listeners run in subscription order; one that throws stops the emit and the
 * throw reaches the emitter, as a direct call would.
 */
export class Signal<Args extends unknown[]> {
  private listeners: ((...args: Args) => void)[] = [];

  subscribe(listener: (...args: Args) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(...args: Args): void {
    for (const listener of this.listeners) listener(...args);
  }
}
