export { FaultInjector, FaultHeaders, ActiveFaults, type FaultDecision } from './FaultInjector.js';
export { FaultConfigResolver } from './FaultConfigResolver.js';
export { evaluateFraction, denominatorOf } from './FractionalPercent.js';
