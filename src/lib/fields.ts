import { z } from 'zod'

/** bcrypt reads at most 72 bytes; anything longer would be silently truncated. */
const BCRYPT_MAX_BYTES = 72
const NAME_MAX_CHARACTERS = 64
const PASSWORD_MIN_CHARACTERS = 8

// Control characters in a name break logs and terminals; lone surrogates are not valid Unicode
// and no database stores them faithfully.
const CONTROL_CHARACTER = /\p{Cc}/u

export const organizationName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine((name) => [...name].length <= NAME_MAX_CHARACTERS, `must be at most ${NAME_MAX_CHARACTERS} characters`)
  .refine((name) => !CONTROL_CHARACTER.test(name), 'must not contain control characters')
  .refine((name) => name.isWellFormed(), 'must be well-formed Unicode')

/**
 * An email address, trimmed, ASCII only (the email check refuses anything else) and folded to
 * lower case in ASCII alone, so two addresses are equal exactly when they differ at most in ASCII
 * case. `String#toLowerCase` would fold the Kelvin sign (U+212A) to `k`, letting a host user
 * whose (unverified) address is `\u212Aate@acme.test` accept kate@acme.test's invitation.
 */
export const email = z
  .string()
  .trim()
  .overwrite((value) => value.replace(/[A-Z]+/g, (letters) => letters.toLowerCase()))
  .max(254, 'must be at most 254 characters')
  .pipe(z.email('must be an email address'))

export const password = z
  .string()
  .min(PASSWORD_MIN_CHARACTERS, `must be at least ${PASSWORD_MIN_CHARACTERS} characters`)
  .refine(
    (value) => Buffer.byteLength(value, 'utf8') <= BCRYPT_MAX_BYTES,
    `must be at most ${BCRYPT_MAX_BYTES} bytes in UTF-8 (bcrypt's limit)`,
  )
  // bcrypt's C core stops at a NUL byte, so "a\0b" and "a\0c" would hash alike.
  .refine((value) => !value.includes('\0'), 'must not contain NUL characters')
  .refine((value) => value.isWellFormed(), 'must be well-formed Unicode')
