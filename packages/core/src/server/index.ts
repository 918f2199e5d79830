export { FilterChainSelector } from './FilterChainSelector.js';
export type { FilterChainMatchMode, FilterChainSelectorOptions } from './FilterChainSelector.js';
export type { ConnectionInfo } from './ConnectionInfo.js';
