import type { HandlersFor } from '../core';
import type { Sagas } from './sagas';

export function sagaHandlers(sagas: Sagas): HandlersFor<'sagas.start' | 'sagas.get' | 'sagas.list' | 'sagas.cancel'> {
  return {
    'sagas.start': async (input) => ({ saga: await sagas.start(input) }),
    'sagas.get': (input) => ({ saga: sagas.get(input.id) }),
    'sagas.list': (input) => ({ ...sagas.list(input), types: sagas.types() }),
    'sagas.cancel': (input, caller) => ({ saga: sagas.cancel(input.id, caller.actor) }),
  };
}
