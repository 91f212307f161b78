import { exampleBaseDomain, exampleTenancy, printTryIt } from '../example-setup.js'
import { createApp } from './app.js'

const port = Number(process.env.PORT ?? 3000)
const tenancy = await exampleTenancy()
createApp(tenancy, { trustProxy: process.env.TRUST_PROXY === '1' }).listen(port, () =>
  printTryIt('Express', port, exampleBaseDomain),
)
