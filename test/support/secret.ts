/** A fixed 32-byte test secret; cost 4 keeps bcrypt fast in tests and is what they exercise. */
export const TEST_SECRET = 'test-secret-test-secret-test-secret!'
export const TEST_AUTH = { secret: TEST_SECRET, bcryptCost: 4 } as const
export const PASSWORD = 'correct horse battery'
