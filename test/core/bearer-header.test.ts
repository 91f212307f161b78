import { beforeAll, describe, expect, it } from 'vitest'
import { createTenancy } from 'tenantry'
import { createOrgHandler } from 'tenantry/http'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

const FORMAT = 'the Authorization header must be "Bearer <token>"'

describe('the Authorization header', () => {
  const tenancy = createTenancy({ auth: TEST_AUTH })
  const handler = createOrgHandler(tenancy)
  let token: string
  beforeAll(async () => {
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    token = (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken
  })

  async function answer(
    authorization: string | undefined,
  ): Promise<{ status: number; code?: string; detail?: string }> {
    const { status, body } = await reply(authorization)
    return { status, code: body.code, detail: body.detail }
  }

  async function reply(authorization: string | undefined) {
    const response = (await handler.handle({
      method: 'GET',
      url: '/org/members',
      headers: authorization === undefined ? {} : { authorization },
      body: (async function* () {})(),
    }))!
    return {
      status: response.status,
      headers: response.headers as Record<string, string>,
      body: JSON.parse(response.body as string),
    }
  }

  it('accepts the token with the scheme in any case and any run of spaces around it (RFC 6750)', async () => {
    for (const header of [
      `Bearer ${token}`,
      `bearer ${token}`,
      `BEARER ${token}`,
      `Bearer   ${token}`,
      `Bearer ${token}  `,
      `bEaReR  ${token} `,
    ]) {
      expect((await answer(header)).status, header.slice(0, 12)).toBe(200)
    }
  })

  it('answers TOKEN_MISSING when there is no header or an empty one', async () => {
    for (const header of [undefined, ''])
      expect(await answer(header)).toMatchObject({ status: 401, code: 'TOKEN_MISSING' })
  })

  it('answers TOKEN_INVALID naming the header for anything that is not one bearer token', async () => {
    const malformed = [
      'Bearer',
      'Bearer ',
      'Bearer  ',
      `Basic ${token}`,
      `Bearer ${token} extra`,
      `x Bearer ${token}`,
      `Bearer${token}`,
      `bearer a,b`,
      'bearer  ==',
      `bearer ${token}\t`,
    ]
    for (const header of malformed)
      expect(await answer(header), JSON.stringify(header.slice(0, 20))).toEqual({
        status: 401,
        code: 'TOKEN_INVALID',
        detail: FORMAT,
      })
  })

  it('refuses junk after the usual "Bearer " too: as a token that does not verify', async () => {
    // The common spelling skips the header grammar for speed; what follows is checked as a token.
    for (const header of ['Bearer a,b', 'Bearer ==', `Bearer ${token}\t`, 'Bearer \u00e9t\u00e9'])
      expect(await answer(header)).toMatchObject({ status: 401, code: 'TOKEN_INVALID' })
  })

  it('checks a well-formed bearer value as a token, padding and all, never as a header error', async () => {
    for (const value of ['abc', 'a-b.c_d~e+f/g', 'abc=', 'abc==', 'x']) {
      for (const header of [`Bearer ${value}`, `bearer  ${value}`]) {
        const reply = await answer(header)
        expect(reply).toMatchObject({ status: 401, code: 'TOKEN_INVALID' })
        expect(reply.detail, header).not.toBe(FORMAT)
      }
    }
  })

  it('challenges a malformed header as an invalid request and a refused token as an invalid token (RFC 6750 §3.1)', async () => {
    expect((await reply(`Basic ${token}`)).headers['www-authenticate']).toBe(
      'Bearer realm="tenantry", error="invalid_request", error_description="the Authorization header must be Bearer <token>"',
    )
    expect((await reply('Bearer abc')).headers['www-authenticate']).toMatch(
      /^Bearer realm="tenantry", error="invalid_token", error_description="/,
    )
  })
})
