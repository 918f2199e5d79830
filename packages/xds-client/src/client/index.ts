export type { Disposable, ResourceSource, ResourceWatcher, WatchOptions } from './ResourceSource.js';
export { XdsClient, type XdsClientOptions } from './XdsClient.js';
export { LastKnownGoodStore, containsInlinePrivateKey, type LastKnownGoodOptions, type LastKnownGoodRecord } from './LastKnownGoodStore.js';
export type { AckEvent, ConnectedEvent, DisconnectedEvent, NackEvent, XdsClientEventMap, XdsClientEventName } from './XdsClientEvents.js';
export type { ClientConfigDump, ClientResourceStatus, GenericXdsConfig, Timestamp, UpdateFailureState } from './ConfigDump.js';
export { consoleLogger, silentLogger, type Logger } from './Logger.js';
export { DEBUG_ENV, DEBUG_TOPICS, debugLogger, isDebugEnabled, parseDebugTopics, topicLogger, withDebugOutput, type DebugTopic } from './Debug.js';
export { ExponentialBackoff, type BackoffOptions } from '../transport/Backoff.js';
export { redactSecrets, SECRET_FIELDS } from './SecretRedaction.js';
