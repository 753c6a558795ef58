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
export { initNodeWasmThreads, MAX_NODE_WASM_THREADS } from './node-threads';
export { batchNormTraining, fusedBatchNormActive, type BatchNormTrainingResult } from './batch-norm-training';
