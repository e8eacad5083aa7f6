export { newId } from './ids';
export { loadNodeId } from './node-identity';
