import { libraryConfig } from '../../tsup.shared';

// shims: import.meta.url in the CJS build (used only in Node, to find the wasm files).
export default libraryConfig({ index: 'src/index.ts' }, { shims: true, external: [/^@tensorflow\//, /^node:/] });
