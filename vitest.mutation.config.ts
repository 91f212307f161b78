import { defineConfig, mergeConfig } from 'vitest/config'
import base from './vitest.config.js'

/**
 * The suite Stryker runs for each mutant: the core's tests, the attacks (both adapters), the
 * in-memory conformance and isolation suites. Left out: the packed-package test (it builds and
 * installs a tarball), the MongoDB suites (they skip without a server), the benchmarks' and
 * examples' start-up tests, and the HTTP contract suite, whose every test goes through the same
 * code the attacks already reach, at several times the cost per mutant.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['test/core/**/*.test.ts', 'test/attacks/**/*.test.ts', 'test/adapters/**/*.test.ts', 'test/conformance/memory-store.test.ts', 'test/isolation/memory-*.test.ts', 'test/isolation/shared-model.test.ts'],
      exclude: ['node_modules/**'],
      globalSetup: [],
    },
  }),
)
