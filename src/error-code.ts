import type * as errors from './errors.js'

/** Every code a tenantry error can carry, read off the classes (the base's open `string` left out). */
export type ErrorCode = LiteralCode<(typeof errors)[keyof typeof errors]>
type LiteralCode<T> = T extends { code: infer C extends string } ? (string extends C ? never : C) : never
