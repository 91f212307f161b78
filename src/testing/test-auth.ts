/** A fixed 32-byte secret; bcrypt cost 4 keeps the suites fast and is what they exercise. */
export const TEST_AUTH = Object.freeze({ secret: 'test-secret-test-secret-test-secret!', bcryptCost: 4 })
export const PASSWORD = 'correct horse battery'
