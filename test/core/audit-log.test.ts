import { describe, expect, it } from 'vitest'
import { createTenancy, type AuditEvent } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

describe('the audit hook', () => {
  it('hears every login, refresh, logout and organization change, without secrets', async () => {
    const events: AuditEvent[] = []
    const tenancy = createTenancy({ auth: TEST_AUTH, onAudit: (event) => events.push(event) })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    await expect(
      tenancy.auth.login({ email: 'nobody@acme.test', password: PASSWORD }, { clientAddress: '203.0.113.5' }),
    ).rejects.toThrow()
    const tokens = await tenancy.auth.login(
      { email: 'a@acme.test', password: PASSWORD },
      { clientAddress: '203.0.113.5' },
    )
    const refreshed = await tenancy.auth.refresh(tokens.refreshToken)
    await expect(tenancy.auth.refresh(tokens.refreshToken)).rejects.toThrow()
    const tenant = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken,
    )
    await tenancy.orgs.update(tenant, { name: 'Acme 2', password: 'another good passphrase' })
    await tenancy.auth.logout(tenant)
    await tenancy.orgs.delete(tenant, 'Acme 2')
    expect(events.map((event) => event.type)).toEqual([
      'organization.created',
      'login.failed',
      'login.succeeded',
      'token.refreshed',
      'sessions.revoked',
      'login.succeeded',
      'sessions.revoked',
      'organization.updated',
      'session.ended',
      'organization.deleted',
    ])
    expect(events[1]).toMatchObject({
      organizationId: null,
      clientAddress: '203.0.113.5',
      details: { reason: 'invalid_credentials' },
    })
    expect(events[4]).toMatchObject({ details: { reason: 'refresh_token_reuse' } })
    const text = JSON.stringify(events)
    for (const secret of [
      PASSWORD,
      'another good passphrase',
      tokens.accessToken,
      tokens.refreshToken,
      refreshed.refreshToken,
      '$2b$',
    ])
      expect(text).not.toContain(secret)
  })

  it('never lets a throwing hook fail the login it reports', async () => {
    const tenancy = createTenancy({
      auth: TEST_AUTH,
      onAudit: () => {
        throw new Error('hook bug')
      },
    })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    await expect(tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).resolves.toMatchObject({
      tokenType: 'Bearer',
    })
  })

  it('refuses a hook that is not a function at start-up with a TypeError', () => {
    expect(() => createTenancy({ auth: TEST_AUTH, onAudit: 'log' as never })).toThrow(TypeError)
  })
})
