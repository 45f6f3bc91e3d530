/**
 * One owner for an object's single alarm. A Durable Object has one alarm, but several parts of
 * it need waking (an outbox lease, retention pruning, a re-count): each part reports its next
 * wake-up time, and this class keeps the earliest, calling setAlarm only when that moves the
 * alarm earlier. After the alarm fires, `fired()` forgets the old time and the object reports
 * what is still due with `rearm`, which never schedules sooner than a second ahead, so a part
 * that keeps failing (a queue refusing sends) cannot make the alarm spin.
 */
const MIN_REARM_MS = 1_000;

export type WakeUp = number | null | undefined;

export class Alarm {
  private at: number | null = null;

  constructor(private readonly storage: DurableObjectStorage) {}

  get isSet(): boolean {
    return this.at !== null;
  }

  /** Reads the stored alarm; call inside the constructor's blockConcurrencyWhile. */
  async load(): Promise<void> {
    this.at = await this.storage.getAlarm();
  }

  /** Makes sure the alarm fires no later than the earliest of the reported times. */
  async wakeBy(...times: WakeUp[]): Promise<void> {
    const next = earliest(times);
    if (next === null || (this.at !== null && this.at <= next)) return;
    this.at = next;
    await this.storage.setAlarm(next);
  }

  /** The alarm has fired: nothing is scheduled any more until a part reports again. */
  fired(): void {
    this.at = null;
  }

  /** After work that may fail again at once: the earliest time, but at least a second away. */
  async rearm(now: number, ...times: WakeUp[]): Promise<void> {
    const next = earliest(times);
    if (next !== null) await this.wakeBy(Math.max(next, now + MIN_REARM_MS));
  }

  /** Nothing is left to wake for. */
  async clear(): Promise<void> {
    if (this.at === null) return;
    this.at = null;
    await this.storage.deleteAlarm();
  }
}

function earliest(times: WakeUp[]): number | null {
  let min: number | null = null;
  for (const t of times) if (typeof t === "number" && Number.isFinite(t) && (min === null || t < min)) min = t;
  return min;
}
