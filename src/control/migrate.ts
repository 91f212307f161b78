import type { TenantCache } from '../context/tenant-cache.js'
import { walkOrganizations, type WalkReport } from '../context/walk-organizations.js'
import { SlugTakenError } from '../errors.js'
import type { Store } from '../store.js'
import type { MigrateOptions, MigrationReport } from './organization-types.js'
import type { OrganizationRecord } from './records.js'
import { slugFromName, slugWithSuffix } from './slug.js'

const SLUG_ATTEMPTS = 5

/**
 * Migrates the store (its indexes or tables), then re-runs provisioning on every active or
 * suspended organization (a suspended one is resumed as it is, so it must not fall behind), so
 * data spaces made before the store's tenant indexes were declared get them,
 * and gives organizations stored before slugs existed a slug. Idempotent; resumable by passing
 * the `lastId` an interrupted run reported as `after`.
 */
export async function migrateOrganizations(
  store: Store,
  context: { cache: TenantCache; reservedSlugs: ReadonlySet<string> },
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const { onProgress, ...walk } = options
  await store.records.migrate?.()
  await store.data.migrate?.()
  const migration = (report: WalkReport): MigrationReport => ({ migrated: report.visited, lastId: report.lastId })
  const report = await walkOrganizations(
    store,
    async (org) => {
      if (org.state !== 'active' && org.state !== 'suspended') return false
      await store.data.provision(org)
      if (typeof org.slug !== 'string') await backfillSlug(store, context, org)
      return true
    },
    { ...walk, onProgress: onProgress && ((progress) => onProgress(migration(progress))) },
  )
  return migration(report)
}

async function backfillSlug(
  store: Store,
  { cache, reservedSlugs }: { cache: TenantCache; reservedSlugs: ReadonlySet<string> },
  org: OrganizationRecord,
): Promise<void> {
  let slug = slugFromName(org.name)
  for (let attempt = 1; ; attempt++) {
    try {
      await store.records.organizations.update(org.id, { slug: reservedSlugs.has(slug) ? slugWithSuffix(slug) : slug })
      cache.invalidateOrganization(org.id)
      return
    } catch (err) {
      if (!(err instanceof SlugTakenError) || attempt >= SLUG_ATTEMPTS) throw err
      slug = slugWithSuffix(slugFromName(org.name))
    }
  }
}
