import { createTenancy } from 'tenantry'
import { exampleSecret, printTryIt } from '../run-example.js'
import { createApp } from './app.js'

const port = Number(process.env.PORT ?? 3000)
const tenancy = createTenancy({ auth: { secret: exampleSecret() } })
createApp(tenancy).listen(port, () => printTryIt('Express', port))
