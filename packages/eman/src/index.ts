export { emaUpdate } from './ema';
export { constantMomentum, byolMomentum } from './momentum';
export { pseudoLabels, pseudoLabelLoss, type PseudoLabelArgs, type PseudoLabels } from './pseudo-label';
export { fixMatchEmanReference } from './reference';
