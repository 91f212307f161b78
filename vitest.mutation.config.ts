import { defineConfig } from 'vitest/config'
import base from './vitest.config.js'

/**
 * The suite Stryker runs for each mutant: the core's tests, the attacks (both adapters), the
 * in-memory conformance and isolation suites. Left out: the packed-package test (it builds and
 * installs a tarball), the MongoDB suites (they skip without a server), the benchmarks' and
 * examples' start-up tests, and the HTTP contract suite, whose every test goes through the same
 * code the attacks already reach, at several times the cost per mutant.
 *
 * Built by spreading, not `mergeConfig`: that concatenates arrays, so `include` would still hold
 * the base config's `test/**` and every suite would run for every mutant.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/core/**/*.test.ts',
      'test/attacks/**/*.test.ts',
      'test/adapters/**/*.test.ts',
      'test/conformance/memory-store.test.ts',
      'test/isolation/shared-model.test.ts',
    ],
    globalSetup: [],
    // One module graph for all files: Stryker switches mutants at run time, so nothing needs a
    // fresh import, and re-importing the app for each file was two thirds of every mutant's run
    // (85 s for this suite isolated, 27 s not). The suite passes either way.
    isolate: false,
  },
})
