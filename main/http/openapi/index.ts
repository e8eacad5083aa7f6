export { apiDocument, type OpenApiDocument } from './document';
