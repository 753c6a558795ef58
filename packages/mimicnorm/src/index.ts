export { centerWeights, type MimicNormParamsArg } from './center';
export { mimicNormParams, type MimicNormParamsOptions } from './select';
export {
  MimicNormHook,
  mimicNormHook,
  mimicNorm,
  registerMimicNormHook,
  type MimicNormHookArgs,
  type MimicNormArgs,
} from './hook';
export { mimicInit, residualScaleInit, MIMIC_INIT_GAIN, type MimicInitArgs, type ResidualScaleInitArgs } from './init';
