import type { LiveEvent } from './live-event.js';

export type LiveEventListener = (event: LiveEvent) => void;

/**
 * Carries live events from where messages are seen (the stream consumer: the projector Lambda, or
 * the change-capture emulator) and from the read route to every API task holding streams. Delivery
 * is at most once: a task that was cut off from the bus is told (`onGap`) and closes its streams,
 * whose clients come back with Last-Event-ID and are replayed from DynamoDB.
 */
export abstract class LiveEventBus {
  /** Sends events to every subscriber; bounded in time, rejects when the bus cannot take them. */
  abstract publish(events: LiveEvent[]): Promise<void>;
  /** Calls `listener` with every event published from now on; returns a function that stops it. */
  abstract subscribe(listener: LiveEventListener): () => void;
  /** Whether events published now reach this subscriber. */
  abstract get live(): boolean;
  /** Resolves once this subscriber receives events (at once in process). */
  abstract whenLive(): Promise<void>;
  /** Calls `listener` when events may have been missed (the connection to the bus was lost). */
  abstract onGap(listener: () => void): () => void;
  abstract close(): Promise<void>;
}

/** The bus inside one process: `npm run local` and single-task deployments. */
export class InProcessLiveEventBus extends LiveEventBus {
  private readonly listeners = new Set<LiveEventListener>();

  publish(events: LiveEvent[]): Promise<void> {
    for (const event of events) for (const listener of this.listeners) listener(event);
    return Promise.resolve();
  }

  subscribe(listener: LiveEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get live(): boolean {
    return true;
  }

  whenLive(): Promise<void> {
    return Promise.resolve();
  }

  onGap(): () => void {
    return () => undefined;
  }

  close(): Promise<void> {
    this.listeners.clear();
    return Promise.resolve();
  }
}
