import type { Listener } from '../model.js';
import { freezeModel, frozen } from '../DeepFreeze.js';
import { NO_ITEMS } from '../common/SharedEmpties.js';
import { LEN, giveUp, lengthEnd, readWhole, string, varint, type Cursor } from '../common/WireCursor.js';
import { decodeHttpConnectionManagerWire } from './HttpConnectionManagerWire.js';
import { HCM_TYPE } from './HttpConnectionManager.js';

const HCM_TYPE_URL = `type.googleapis.com/${HCM_TYPE}`;

/**
 * One-pass decode of a client-side Listener: name (1) and an api_listener (19) whose
 * HttpConnectionManager is in the common shape HttpConnectionManagerWire takes. What a proxyless
 * client gets for each target; without this, the Listener message and everything its fields name
 * (filter chains, addresses, socket options: about 60 protobufjs types) were built to decode it.
 * Anything else (server-side listeners with addresses and filter chains, unknown fields, any
 * other HCM) returns undefined, and the general path decodes it and owns every validation message
 * (test: listener-wire-decode.test.ts).
 */
export function decodeListenerWire(bytes: Uint8Array): Listener | undefined {
  return readWhole(bytes, listener);
}

function listener(r: Cursor, end: number): Listener {
  let name = '';
  let api: Listener['api_listener'];
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) name = string(r, end);
    else if (tag === ((19 << 3) | LEN) && api === undefined) api = apiListener(r, lengthEnd(r, end));
    else giveUp();
  }
  if (r.pos !== end || name === '' || api === undefined) giveUp();
  // Keys in the general path's order (ListenerResource.listener).
  return frozen({ name, api_listener: api, filter_chains: NO_ITEMS }) as Listener;
}

/** ApiListener: api_listener (1), an Any of an HttpConnectionManager. */
function apiListener(r: Cursor, end: number): NonNullable<Listener['api_listener']> {
  let hcm: Listener['api_listener'];
  while (r.pos < end) {
    if (varint(r) !== ((1 << 3) | LEN) || hcm !== undefined) giveUp();
    hcm = hcmAny(r, lengthEnd(r, end));
  }
  if (r.pos !== end || hcm === undefined) giveUp();
  return hcm;
}

/** google.protobuf.Any: type_url (1) the HCM's, value (2) in the shape HttpConnectionManagerWire takes. */
function hcmAny(r: Cursor, end: number): NonNullable<Listener['api_listener']> {
  let typeUrl: string | undefined;
  let value: Uint8Array = new Uint8Array();
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) typeUrl = string(r, end);
    else if (tag === ((2 << 3) | LEN)) {
      const e = lengthEnd(r, end);
      value = r.buf.subarray(r.pos, e);
      r.pos = e;
    } else giveUp();
  }
  if (r.pos !== end || typeUrl !== HCM_TYPE_URL) giveUp();
  return freezeModel(decodeHttpConnectionManagerWire(value) ?? giveUp());
}
