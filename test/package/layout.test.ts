import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as root from 'tenantry'

const repo = resolve(import.meta.dirname, '../..')
const lines = (file: string) => readFileSync(join(repo, file), 'utf8').split('\n').length - 1
const sources = (dir: string): string[] =>
  readdirSync(join(repo, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )

describe('the layout', () => {
  it('keeps each adapter under 100 lines: logic belongs in the core, where both share it', () => {
    for (const adapter of ['adapters/express/index.ts', 'adapters/koa/index.ts'])
      expect(lines(adapter), adapter).toBeLessThan(100)
  })

  it('keeps every source file at 400 lines or fewer', () => {
    const long = sources('src').filter((file) => lines(file) > 400)
    expect(long).toEqual([])
  })

  it('exports a small core from the package root: a handful of values and the errors namespace', () => {
    expect(Object.keys(root).sort()).toEqual(
      [
        'BUILT_IN_ROLES',
        'DEFAULT_RESERVED_SLUGS',
        'MAX_DOMAINS_PER_ORGANIZATION',
        'ORGANIZATION_PERMISSIONS',
        'TenantryError',
        'createTenancy',
        'currentTenant',
        'errors',
        'memoryStore',
        'requireTenant',
      ].sort(),
    )
  })
})
