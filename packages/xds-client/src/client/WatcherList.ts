import type { ResourceWatcher } from './ResourceSource.js';
import { NO_ITEMS } from '../resources/common/SharedEmpties.js';

/**
 * The watchers of one cached resource: the watcher itself when there is exactly one (nearly
 * always: a 10,000-cluster push has 20,000 entries, each watched once, and a one-element array is
 * two more objects per entry for the scavenger to copy), else a copy-on-write array of two or
 * more, never changed in place, so a notification can walk the list it started with. NO_WATCHERS
 * when there are none. A watcher is a plain object, never an array, so Array.isArray tells the forms apart.
 */
export type WatcherList = ResourceWatcher<unknown> | readonly ResourceWatcher<unknown>[];

export const NO_WATCHERS: readonly ResourceWatcher<unknown>[] = NO_ITEMS;

export function isWatching(list: WatcherList, w: ResourceWatcher<unknown>): boolean {
  return Array.isArray(list) ? list.includes(w) : list === w;
}

/** `list` with `w` added at the end; `list` itself when `w` is in it already. */
export function withWatcher(list: WatcherList, w: ResourceWatcher<unknown>): WatcherList {
  if (!Array.isArray(list)) return list === w ? list : [list as ResourceWatcher<unknown>, w];
  if (list.length === 0) return w;
  return list.includes(w) ? list : [...list, w];
}

/** `list` without `w` (which must be in it): a lone remaining watcher is kept as itself. */
export function withoutWatcher(list: WatcherList, w: ResourceWatcher<unknown>): WatcherList {
  if (!Array.isArray(list)) return NO_WATCHERS;
  const rest = list.filter((x) => x !== w);
  return rest.length === 0 ? NO_WATCHERS : rest.length === 1 ? rest[0]! : rest;
}
