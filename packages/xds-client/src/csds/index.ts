export {
  createCsdsService,
  csdsServiceDefinition,
  type ClientStatusRequest,
  type ClientStatusResponse,
  type CsdsImplementation,
  type CsdsServiceDefinition,
  type CsdsSource,
} from './CsdsService.js';
