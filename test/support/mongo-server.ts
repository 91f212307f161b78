import { MongoMemoryServer } from 'mongodb-memory-server'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A MongoDB URI for the MongoDB suites, or '' when no server could be had. */
    mongoUri: string
  }
}

/**
 * Vitest global setup: MONGODB_URI when set, otherwise a mongodb-memory-server standalone
 * (which needs a downloadable or MONGOMS_SYSTEM_BINARY mongod). Where neither exists the
 * MongoDB suites skip, and this prints the one line that says why.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let uri = process.env.MONGODB_URI ?? ''
  let server: MongoMemoryServer | undefined
  if (!uri) {
    // mongodb-memory-server reports its own failure at length; the one line below says it all.
    const warn = console.warn
    console.warn = () => {}
    try {
      server = await MongoMemoryServer.create()
      uri = server.getUri()
    } catch (err) {
      const message = String((err as Error).message)
      const reason = [message.split('\n')[0]?.replace(/, Details:$/, ''), /getaddrinfo \w+ [\w.-]+/.exec(message)?.[0]]
        .filter(Boolean)
        .join(': ')
      console.log(
        `MongoDB suites skipped: MONGODB_URI is not set and mongodb-memory-server could not start mongod (${reason}). Set MONGODB_URI or MONGOMS_SYSTEM_BINARY to run them.`,
      )
    } finally {
      console.warn = warn
    }
  }
  project.provide('mongoUri', uri)
  return async () => {
    await server?.stop()
  }
}
