import { libraryConfig } from '../../tsup.shared';

export default libraryConfig({ index: 'src/index.ts', layers: 'src/layers/index.ts' });
