import type { Attributes, Meter, MeterProvider, MetricOptions, ObservableCallback, ObservableResult } from '@opentelemetry/api';

/** One recorded measurement. */
export interface Measurement {
  readonly name: string;
  readonly value: number;
  readonly attributes: Attributes;
}

/**
 * A MeterProvider over the API interfaces that records synchronous measurements and calls
 * observable callbacks on `collect()` (the metrics SDK is not a dependency of this repo).
 */
export class RecordingMeterProvider implements MeterProvider {
  readonly measurements: Measurement[] = [];
  readonly options = new Map<string, MetricOptions | undefined>();
  private readonly callbacks = new Map<string, Set<ObservableCallback>>();

  getMeter(): Meter {
    const record = (name: string) => (value: number, attributes: Attributes = {}) => void this.measurements.push({ name, value, attributes });
    const sync = (name: string, options?: MetricOptions) => {
      this.options.set(name, options);
      return { add: record(name), record: record(name) };
    };
    const observable = (name: string, options?: MetricOptions) => {
      this.options.set(name, options);
      const set = new Set<ObservableCallback>();
      this.callbacks.set(name, set);
      return { addCallback: (cb: ObservableCallback) => void set.add(cb), removeCallback: (cb: ObservableCallback) => void set.delete(cb) };
    };
    return {
      createCounter: sync,
      createUpDownCounter: sync,
      createHistogram: sync,
      createGauge: sync,
      createObservableGauge: observable,
      createObservableCounter: observable,
      createObservableUpDownCounter: observable,
      addBatchObservableCallback() {},
      removeBatchObservableCallback() {},
    } as unknown as Meter;
  }

  /** Runs every observable callback and returns what they observed. */
  async collect(): Promise<Measurement[]> {
    const out: Measurement[] = [];
    for (const [name, set] of this.callbacks) {
      for (const cb of set) {
        const result: ObservableResult = { observe: (value, attributes = {}) => void out.push({ name, value, attributes }) };
        await cb(result);
      }
    }
    return out;
  }

  named(name: string): Measurement[] {
    return this.measurements.filter((m) => m.name === name);
  }
}
