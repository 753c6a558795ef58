import { cifarIdentity } from './cifar';
import { fashionIdentity } from './fashion';
import type { DataIdentity, DataRequest } from './identity';

/**
 * Resolves a recorded data request again, now: what the same loader call would read today (other `--data`,
 * `TRAINKIT_DATA`, a newly installed full set, changed files all show up as a different identity).
 *
 * @param request - the recorded request; `dir` replaced by the caller where it came from the run's `--data`
 * @param subset - the recorded subset choice
 * @throws TrainkitError `BAD_FILE` when the data can no longer be found
 */
export function resolveDataIdentity(request: DataRequest, subset: DataIdentity['subset']): DataIdentity {
  const sizes = { ...(subset.trainSize !== null ? { trainSize: subset.trainSize } : {}), ...(subset.testSize !== null ? { testSize: subset.testSize } : {}), seed: subset.seed };
  if (request.loader === 'cifar') return cifarIdentity({ dir: request.dir, classes: request.classes, label: request.label, ...sizes });
  return fashionIdentity({ ...(request.dir !== undefined ? { dataDir: request.dir } : {}), ...(request.embedded ? { embedded: true } : {}), ...sizes });
}
