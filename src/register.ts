import type { Document } from './data/collection-types.js'

/**
 * Tells TypeScript the documents of each declared collection, so `tenant.collection('notes')`
 * is typed and an undeclared name is a type error. Declare it once in the host app:
 *
 * @example
 * declare module 'tenantry' {
 *   interface Register { collections: { notes: NoteDoc; invoices: InvoiceDoc } }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: hosts augment it, and only an interface merges
export interface Register {}

/** The registered collections, or any name with plain documents. */
export type RegisteredCollections = Register extends { collections: infer TCollections }
  ? TCollections
  : Record<string, Document>
