import type { Metadata, MetadataValue } from '@grpc/grpc-js';
import type { GrpcMetadataCarrier } from '@meshlet/core/client';
import type { MetadataStore } from './MetadataHeaders.js';

/**
 * The caller's Metadata, written in place for the start of one attempt and put back right after,
 * instead of a Metadata.clone() per attempt. grpc-js copies an outgoing call's metadata as the call
 * starts (ResolvingCall.start clones it synchronously), so the attempt sends the decorated copy
 * while the caller's object, which the application may reuse, ends up as it was; the next attempt
 * (a retry or hedge) starts from the caller's metadata again, never from this one's additions.
 *
 * Every write of the attempt (header mutation, attempt counts, x-request-id, the propagator's
 * trace context, peer metadata) goes through here, so exactly the keys it touched are restored:
 * removed if the caller did not have them, else given back their values. One instance per
 * channel serves every attempt (begin, writes, start, end run synchronously, with no caller code
 * in between); `begin` refuses while another attempt is between begin and end.
 */
export class AttemptMetadata implements MetadataStore, GrpcMetadataCarrier {
  private target: Metadata | undefined;
  /**
   * The first `count` entries: touched keys (lower-case) and each one's values before the attempt
   * (undefined: absent), in step. The arrays are reused, never truncated: a truncated array drops its
   * backing store, and the next attempt would allocate it again.
   */
  private readonly keys: string[] = [];
  private readonly saved: (MetadataValue[] | undefined)[] = [];
  private count = 0;
  /**
   * The last get(): its key as passed and the values it returned, while nothing has been written since.
   * The attempt's decoration reads a key and then sets it (x-request-id): save() takes the values from
   * here rather than reading them from grpc-js again (a lower-casing, a Map lookup and an empty array).
   */
  private readName: string | undefined;
  private readValues: MetadataValue[] | undefined;

  /** Starts recording writes to `metadata`; false if this instance is in use (the caller then copies). */
  begin(metadata: Metadata): boolean {
    if (this.target !== undefined) return false;
    this.target = metadata;
    return true;
  }

  get(key: string): MetadataValue[] {
    const values = this.target!.get(key);
    this.readName = key;
    this.readValues = values;
    return values;
  }

  set(key: string, value: MetadataValue): void {
    this.save(key);
    this.target!.set(key, value);
  }

  add(key: string, value: MetadataValue): void {
    this.save(key);
    this.target!.add(key, value);
  }

  remove(key: string): void {
    this.save(key);
    this.target!.remove(key);
  }

  /** Puts back every key the attempt touched, and stops recording. */
  end(): void {
    const target = this.target!;
    const { keys, saved } = this;
    for (let i = this.count - 1; i >= 0; i--) {
      const key = keys[i]!;
      const values = saved[i];
      target.remove(key);
      if (values !== undefined) {
        for (const value of values) target.add(key, value);
        saved[i] = undefined; // not kept past the attempt
      }
    }
    this.count = 0;
    this.target = undefined;
    this.readName = this.readValues = undefined;
  }

  private save(name: string): void {
    // grpc-js keys are case-insensitive (it lower-cases them); record them as it stores them.
    const key = name.toLowerCase();
    const read = name === this.readName ? this.readValues : undefined;
    // The write that follows makes what was read stale.
    this.readName = this.readValues = undefined;
    const { keys, count } = this;
    for (let i = 0; i < count; i++) if (keys[i] === key) return;
    const target = this.target!;
    const values = read ?? target.get(key);
    keys[count] = key;
    this.count = count + 1;
    if (values.length === 0) {
      this.saved[count] = undefined;
      return;
    }
    // The caller's own array (grpc-js hands it out from get()) is kept aside untouched: the attempt
    // writes to a new one, since add() would append to it in place.
    this.saved[count] = values;
    target.set(key, values[0]!);
    for (let i = 1; i < values.length; i++) target.add(key, values[i]!);
  }
}
