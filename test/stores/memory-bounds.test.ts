import { randomBytes } from 'node:crypto'
import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { memoryStore } from 'tenantry'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

function heapAfterGc(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

describe('the memory store under a refresh loop', () => {
  it('keeps its memory bounded over 100,000 refreshes of one session', async () => {
    const { records } = memoryStore()
    const now = Date.now()
    await records.sessions.insert({
      id: 'session-1',
      accountId: 'account-1',
      organizationId: 'org-1',
      membershipId: 'member-1',
      tokenVersion: 0,
      createdAt: new Date(now),
      expiresAt: new Date(now + 3_600_000),
    })
    let hash = randomBytes(32).toString('base64url')
    const refresh = async () => {
      await records.sessions.consumeRefreshToken(hash, new Date())
      hash = randomBytes(32).toString('base64url')
      await records.sessions.insertRefreshToken({
        hash,
        sessionId: 'session-1',
        createdAt: new Date(),
        expiresAt: new Date(now + 3_600_000),
        usedAt: null,
      })
    }
    const first = hash
    await records.sessions.insertRefreshToken({
      hash,
      sessionId: 'session-1',
      createdAt: new Date(now),
      expiresAt: new Date(now + 3_600_000),
      usedAt: null,
    })
    for (let i = 0; i < 20_000; i++) await refresh()
    const warm = heapAfterGc()
    for (let i = 0; i < 80_000; i++) await refresh()
    const grown = heapAfterGc() - warm
    // Kept, every used token would cost some 400 bytes: 80,000 of them, over 30 MB.
    expect(grown).toBeLessThan(5 * 1024 * 1024)
    // A recent used token is still recognised as a replay; the very first is long gone.
    expect(await records.sessions.consumeRefreshToken(first, new Date())).toBeNull()
    expect(await records.sessions.consumeRefreshToken(hash, new Date())).toMatchObject({ consumed: true })
  })
})
