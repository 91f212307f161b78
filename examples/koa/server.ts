import { exampleTenancy, printTryIt } from '../example-setup.js'
import { createApp } from './app.js'

const port = Number(process.env.PORT ?? 3000)
const tenancy = await exampleTenancy()
createApp(tenancy).listen(port, () => printTryIt('Koa', port))
