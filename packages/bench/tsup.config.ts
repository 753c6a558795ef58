import { libraryConfig } from '../../tsup.shared';

export default libraryConfig({ index: 'src/index.ts', cli: 'src/cli.ts', speed: 'src/speed.ts' }, { dts: { entry: { index: 'src/index.ts' } }, shims: true });
