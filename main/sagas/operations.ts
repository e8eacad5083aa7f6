import type { HandlersFor } from '../core';
import type { Sagas } from './sagas';

export function sagaHandlers(sagas: Sagas): HandlersFor<'sagas.start' | 'sagas.get' | 'sagas.list' | 'sagas.cancel'> {
  return {
    'sagas.start': async (input, caller) => {
      sagas.mayStart(input.type, caller.role);
      return { saga: await sagas.start(input) };
    },
    'sagas.get': async (input) => ({ saga: await sagas.get(input.id) }),
    'sagas.list': async (input) => ({ ...(await sagas.list(input)), types: sagas.types() }),
    'sagas.cancel': async (input, caller) => ({ saga: await sagas.cancel(input.id, caller.actor) }),
  };
}
