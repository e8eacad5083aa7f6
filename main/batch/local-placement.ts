import { PhError } from '../../contract/errors';
import type { JobPlacement, JobSpec } from './job-types';

/**
 * Without Redis this node is the whole fleet: a job placed on another node (a payload naming a node,
 * or a target this node does not hold) could never run here, so it is refused at enqueue, as the
 * distributed queue refuses a node it has never seen, instead of running here or failing at its
 * first attempt. The owner's own refusal (an unknown backup source) reaches the caller as it is.
 */
export async function checkLocalPlacement(
  spec: JobSpec,
  placementOf: (type: string) => JobPlacement | undefined,
  here: string,
): Promise<void> {
  const placement = placementOf(spec.type);
  if (placement !== undefined && placement !== 'any') {
    const node = await placement.owner(spec.payload, here);
    if (node !== here)
      throw new PhError(
        'PH_INVALID_INPUT',
        `A ${spec.type} job for node ${JSON.stringify(node)} cannot run: this node (${here}) has no fleet (no Redis), so it runs only its own jobs`,
        { field: 'payload' },
      );
  }
  for (const child of spec.children ?? []) await checkLocalPlacement(child, placementOf, here);
}
