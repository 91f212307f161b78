/** Shared by the bench's parent and its server processes. */
export const SECRET = 'bench-secret-bench-secret-bench-secret'
export const PASSWORD = 'correct horse battery'
