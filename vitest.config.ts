import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  resolve: {
    // The examples import the package by its public names, as a host app would.
    alias: {
      'tenantry/express': here('./adapters/express/index.ts'),
      'tenantry/http': here('./src/http/index.ts'),
      'tenantry/koa': here('./adapters/koa/index.ts'),
      'tenantry/mongodb': here('./src/stores/mongodb/index.ts'),
      'tenantry/postgres': here('./src/stores/postgres/index.ts'),
      'tenantry/redis': here('./src/redis/index.ts'),
      'tenantry/store': here('./src/stores/index.ts'),
      'tenantry/testing': here('./src/testing/index.ts'),
      tenantry: here('./src/index.ts'),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/mongo-server.ts'],
    testTimeout: 20_000,
    hookTimeout: 120_000,
  },
})
