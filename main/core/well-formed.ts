/** `String.prototype.isWellFormed` (ES2024, native since Node 20): no UTF-16 surrogate without its partner. */
export const isWellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();
