import { randomBytes, randomUUID } from 'node:crypto'

export function newId(): string {
  return randomUUID()
}

/**
 * 96 random bits in lower-case hex behind a fixed prefix: valid as a MongoDB collection or
 * database name and a PostgreSQL identifier, and never derived from the display name.
 */
export function newDataKey(): string {
  return `t_${randomBytes(12).toString('hex')}`
}
