import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    http: 'src/http/index.ts',
    store: 'src/stores/index.ts',
    testing: 'src/testing/index.ts',
    express: 'adapters/express/index.ts',
    koa: 'adapters/koa/index.ts',
    mongodb: 'src/stores/mongodb/index.ts',
    postgres: 'src/stores/postgres/index.ts',
    redis: 'src/redis/index.ts',
  },
  format: ['esm', 'cjs'],
  // Shared chunks in both formats: the adapters and the core load one copy of the error
  // classes, so `instanceof TenantryError` holds across `tenantry` and `tenantry/express`.
  splitting: true,
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: true,
  external: ['express', 'koa', '@koa/router', 'mongodb', 'pg', 'swagger-ui-dist', 'vitest'],
  // import.meta.url in the CommonJS build too: the docs page finds swagger-ui-dist from it.
  shims: true,
})
