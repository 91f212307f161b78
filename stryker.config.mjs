// Mutation testing of the security-critical core: `npm run test:mutation`. Too slow for
// `.ci/run`; the `mutation` workflow runs it weekly and on demand, and fails under 90%.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  // The modules a defense lives in: keys and tokens, sessions, the registry's revocation
  // checks, the bearer header, logins, the shared-strategy isolation rules, the tenant
  // context, roles and membership checks, and tenantScope.
  mutate: [
    'src/lib/keyring.ts',
    'src/auth/sessions.ts',
    'src/auth/auth.ts',
    'src/auth/auth-options.ts',
    'src/auth/unused-account.ts',
    'src/context/tenant-registry.ts',
    'src/context/tenant-context.ts',
    'src/http/bearer-token.ts',
    'src/http/tenant-scope.ts',
    'src/data/isolation-rules.ts',
    'src/members/roles.ts',
    'src/members/caller.ts',
    'src/members/member-service.ts',
    'src/members/invitations.ts',
  ],
  coverageAnalysis: 'perTest',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 95, low: 90, break: 90 },
  concurrency: 2,
  timeoutMS: 20000,
  tempDirName: '.stryker-tmp',
}
