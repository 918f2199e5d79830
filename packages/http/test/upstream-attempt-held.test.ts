import { describe, expect, it } from 'vitest';
import type { Dispatcher } from 'undici';
import { HeaderMutation } from '@meshlet/core/client';
import { UpstreamAttempt, type AttemptCaller } from '../src/UpstreamAttempt.js';
import { legacyHandlerOf, modernHandler } from '../src/LegacyCallerHandler.js';

/**
 * An attempt whose response head waits for the engine's decision (State.Held): what arrives meanwhile (body,
 * end, failure) is replayed to the caller's handler on commit, or dropped on discard (which resets the
 * upstream request only while its response has not ended).
 */

/** A call as MeshCall is one for its attempts: a legacy caller handler that records what it is told. */
function callerOf(events: string[]): AttemptCaller {
  const handler: Dispatcher.DispatchHandler = {
    onConnect() {},
    onHeaders: (status: number, raw: Buffer[]) => (events.push(`head ${status} ${raw.map(String).join(',')}`), true),
    onData: (chunk: Buffer) => (events.push(`data ${chunk}`), true),
    onComplete: () => void events.push('complete'),
    onError: (err: Error) => void events.push(`error ${err.message}`),
  } as Dispatcher.DispatchHandler;
  return {
    handler,
    get legacy() {
      return legacyHandlerOf(handler);
    },
    modern: () => modernHandler(handler),
    noteAttemptError() {},
    aborted: false,
    paused: false,
    reason: null,
    abort() {},
    pause() {},
    resume() {},
  };
}

function heldAttempt(events: string[]): { attempt: UpstreamAttempt; aborts: string[] } {
  const aborts: string[] = [];
  const settler = { resolved() {}, rejected: (e: unknown) => void events.push(`rejected ${String(e)}`) };
  const attempt = new UpstreamAttempt(settler, callerOf(events), { signal: new AbortController().signal }, HeaderMutation.EMPTY);
  attempt.onConnect((reason) => void aborts.push(String(reason?.message)));
  attempt.onHeaders(200, [Buffer.from('x-a'), Buffer.from('1')], () => {}, 'OK');
  return { attempt, aborts };
}

describe('UpstreamAttempt: a response held until the engine decides', () => {
  it('body and end that came while held are replayed after the head on commit', () => {
    const events: string[] = [];
    const { attempt } = heldAttempt(events);
    attempt.onData(Buffer.from('one'));
    attempt.onData(Buffer.from('two'));
    attempt.onComplete([]);
    expect(events).toEqual([]);
    attempt.commit();
    expect(events).toEqual(['head 200 x-a,1', 'data one', 'data two', 'complete']);
  });

  it('an end without body while held: head then complete; a failure while held: head, body, then the error', () => {
    const ended: string[] = [];
    const a = heldAttempt(ended).attempt;
    a.onComplete(null);
    a.commit();
    expect(ended).toEqual(['head 200 x-a,1', 'complete']);

    const failed: string[] = [];
    const b = heldAttempt(failed).attempt;
    b.onData(Buffer.from('part'));
    b.onError(new Error('reset'));
    b.commit();
    expect(failed).toEqual(['head 200 x-a,1', 'data part', 'error reset']);
  });

  it('committed before any body: events go straight through', () => {
    const events: string[] = [];
    const { attempt } = heldAttempt(events);
    attempt.commit();
    attempt.onData(Buffer.from('b'));
    attempt.onComplete([]);
    expect(events).toEqual(['head 200 x-a,1', 'data b', 'complete']);
  });

  it('discard resets the upstream request only while its response has not ended', () => {
    const open = heldAttempt([]);
    open.attempt.onData(Buffer.from('x'));
    open.attempt.discard();
    expect(open.aborts).toEqual(['meshlet: attempt discarded for a retry']);

    for (const end of [(a: UpstreamAttempt) => a.onComplete([]), (a: UpstreamAttempt) => a.onError(new Error('gone'))]) {
      const events: string[] = [];
      const done = heldAttempt(events);
      end(done.attempt);
      done.attempt.discard();
      expect(done.aborts).toEqual([]);
      expect(events).toEqual([]);
    }
  });
});
