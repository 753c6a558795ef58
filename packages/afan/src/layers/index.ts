export { splitModel, type SplitModel } from './split';
