/** Returned by event subscriptions (cockatiel style): call `dispose()` to unsubscribe. */
export interface Disposable {
  dispose(): void;
}
