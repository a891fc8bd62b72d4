/** What happened during a deployment, in order: the watch records it, the summary and the report print it. */
export interface TimelineEntry {
  at: Date;
  text: string;
}

export interface TrafficWeights {
  at: Date;
  green: number;
  blue: number;
}

export class Timeline {
  readonly entries: TimelineEntry[] = [];
  readonly weights: TrafficWeights[] = [];
  readonly #onEntry: (entry: TimelineEntry) => void;

  constructor(onEntry: (entry: TimelineEntry) => void = () => undefined) {
    this.#onEntry = onEntry;
  }

  add(at: Date, text: string): void {
    const entry = { at, text };
    this.entries.push(entry);
    this.#onEntry(entry);
  }

  /** The timeline as the JSON reports write it. */
  toJSON() {
    return {
      timeline: this.entries.map((entry) => ({ at: entry.at.toISOString(), text: entry.text })),
      weights: this.weights.map((weight) => ({ ...weight, at: weight.at.toISOString() })),
    };
  }

  /** Records the weights when they changed; returns whether they did. */
  weigh(at: Date, green: number, blue: number): boolean {
    const last = this.weights.at(-1);
    if (last && last.green === green && last.blue === blue) return false;
    this.weights.push({ at, green, blue });
    this.add(at, `traffic: green ${green}% / blue ${blue}%`);
    return true;
  }
}
