import type { AddressInfo } from 'node:net'
import { exampleBaseDomain, exampleTenancy, printTryIt } from '../example-setup.js'
import { createApp } from './app.js'

const port = Number(process.env.PORT ?? 3000)
const { tenancy, notes } = await exampleTenancy()
const server = createApp(tenancy, { trustProxy: process.env.TRUST_PROXY === '1', notes }).listen(port, () =>
  // The port it got: PORT=0 asks for any free one.
  printTryIt('Koa', (server.address() as AddressInfo).port, exampleBaseDomain),
)
