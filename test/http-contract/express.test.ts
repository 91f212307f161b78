import { createApp } from '../../examples/express/app.js'
import { describeHttpContract } from './http-contract.js'

describeHttpContract('Express', (tenancy) => createApp(tenancy))
