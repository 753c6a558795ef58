export { randomReinit, type RandomReinitOptions } from './reinit';
