import { expect, it } from 'vitest';
import { contractTypes } from '../../client/scripts/generate';

it('keeps the client types generated from the contract as checked in (npm run build, or vitest -u, regenerates them)', async () => {
  await expect(contractTypes()).toMatchFileSnapshot('../../client/src/generated/contract.ts');
});
