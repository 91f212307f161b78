import { existsSync, mkdirSync } from 'node:fs'
import express from 'express'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenancy } from 'tenantry'
import { openApiDocument } from 'tenantry/http'
import { orgRouter } from 'tenantry/express'
import { TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const hasBrowser = existsSync(executablePath)
if (!hasBrowser)
  console.log(
    `Docs page browser test skipped: no Chromium at ${executablePath} (apt-get install -y chromium, or set CHROMIUM_PATH).`,
  )

describe.skipIf(!hasBrowser)('the docs page in headless Chromium', () => {
  let browser: Browser
  let server: RunningServer
  const tenancy = createTenancy({ auth: TEST_AUTH })

  beforeAll(async () => {
    // Mounted under a path, as a host would: the page must find its assets and document relative to it.
    server = await startServer(express().use('/api', orgRouter(tenancy, { docs: true, openapi: { prefix: '/api' } })))
    browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
  })
  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('lists every operation of the document, asks nothing of any other host, and breaks no CSP rule', async () => {
    const page = await browser.newPage()
    const requests: string[] = []
    const violations: string[] = []
    page.on('request', (request) => void requests.push(request.url()))
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text())
    })
    const response = await page.goto(`${server.url}/api/docs`)
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'")
    await page.waitForSelector('.opblock', { timeout: 15_000 })
    const listed = await page.$$eval('.opblock', (blocks) =>
      blocks.map(
        (block) =>
          `${block.querySelector('.opblock-summary-method')?.textContent?.trim()} ${block.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`,
      ),
    )
    const document = openApiDocument(tenancy, { prefix: '/api' })
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    )
    expect(listed.sort()).toEqual(operations.sort())
    const origin = new URL(server.url).origin
    expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith('data:'))).toEqual([])
    expect(violations).toEqual([])
    mkdirSync('test-results', { recursive: true })
    await page.screenshot({ path: 'test-results/docs-page.png', fullPage: true })
    await page.close()
  })
})
