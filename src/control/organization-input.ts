import { z } from 'zod'
import * as fields from '../lib/fields.js'
import { slug } from './slug.js'

/** What `OrganizationService` accepts, checked before anything is read or written. */
export const organizationInput = {
  create: z.union([
    z.object({
      name: fields.organizationName,
      email: fields.email,
      password: fields.password,
      slug: slug.optional(),
    }),
    z.object({
      name: fields.organizationName,
      owner: z.object({ subject: z.string().trim().min(1).max(256), email: fields.email.optional() }),
      slug: slug.optional(),
    }),
  ]),
  update: z.object({
    name: fields.organizationName.optional(),
    slug: slug.optional(),
    email: fields.email.optional(),
    password: fields.password.optional(),
    metadata: z.unknown().optional(),
  }),
  get: z.union([z.object({ name: fields.organizationName }), z.object({ slug })]),
  delete: z.object({ name: fields.organizationName }),
}
