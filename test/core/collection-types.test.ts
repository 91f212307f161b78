import { describe, expectTypeOf, it } from 'vitest'
import type { TenantCollection } from 'tenantry'
import type { IdOf } from 'tenantry/store'

interface Invoice {
  [key: string]: unknown
  _id: string
  number: number
}
interface Loose {
  [key: string]: unknown
  text?: string
}

describe('the collection types', () => {
  it('type insertedId as the document type’s own _id, and unknown when it declares none', () => {
    expectTypeOf<IdOf<Invoice>>().toEqualTypeOf<string>()
    expectTypeOf<IdOf<{ _id?: number }>>().toEqualTypeOf<number>()
    expectTypeOf<IdOf<Loose>>().toEqualTypeOf<unknown>()
    expectTypeOf<Awaited<ReturnType<TenantCollection<Invoice>['insertOne']>>['insertedId']>().toEqualTypeOf<string>()
    expectTypeOf<Awaited<ReturnType<TenantCollection<Invoice>['insertMany']>>['insertedIds']>().toEqualTypeOf<
      Record<number, string>
    >()
    expectTypeOf<Awaited<ReturnType<TenantCollection['insertOne']>>['insertedId']>().toEqualTypeOf<unknown>()
  })
})
