import { createApp } from '../../examples/koa/app.js'
import { describeHttpContract } from './http-contract.js'

describeHttpContract('Koa', (tenancy) => createApp(tenancy).callback())
