export {
  useBackend,
  gradientsRegistered,
  AUTO_ORDER,
  type BackendName,
  type BackendChoice,
  type BackendInfo,
  type UseBackendOptions,
} from './use-backend';
export {
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  wasmTrainingKernelNames,
  wasmTrainingKernelsRegistered,
} from './register';
